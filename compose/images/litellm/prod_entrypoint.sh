#!/bin/sh
# As the official image's: `litellm` with the container's arguments. The Prisma env of the build
# (if any) applies unless the container's environment sets the same variable.
set -e
if [ -s /etc/litellm-chaos/prisma.env ]; then
  while IFS='=' read -r key value; do
    [ -n "$key" ] || continue
    printenv "$key" >/dev/null || export "$key=$value"
  done < /etc/litellm-chaos/prisma.env
fi
exec litellm "$@"
