"""LiteLLM versions: the pinned default, the incident's version and the denylist."""

import re

from chaos.errors import UsageError

# The default: the newest release that installed on this project's machine when it was pinned
# (releases from 1.108.8 on need packages its index does not serve; `chaos env --list` tells
# what installs on yours). Tested here in database mode with prisma 0.11.0.
DEFAULT_LITELLM_VERSION = "1.108.7"
# The version of LiteLLM issue 26237.
INCIDENT_LITELLM_VERSION = "1.82.3"
# Every version the suite's own tests and scenarios bring up: the incident's, the release the
# suite was built on, the default.
TESTED_LITELLM_VERSIONS = (INCIDENT_LITELLM_VERSION, "1.106.2", DEFAULT_LITELLM_VERSION)

# Releases reported as compromised on PyPI. The only place this list lives.
COMPROMISED_LITELLM_VERSIONS = frozenset({"1.82.7", "1.82.8", "1.107.0"})

# prisma-client-py for every LiteLLM version tried so far: LiteLLM reaches into 0.11's
# client internals (its reconnect path breaks with 0.15).
PRISMA_CLIENT_VERSION = "0.11.0"

_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(\.post\d+)?$")


def check_litellm_version(version: str, flag: str = "--litellm") -> str:
    """Return `version` if it is well formed and not known-compromised; raise UsageError otherwise
    (naming `flag`, the option it came from)."""
    if not _VERSION_RE.match(version or ""):
        raise UsageError(
            f"{flag} {version!r} is not a LiteLLM release number; expected X.Y.Z, e.g. {DEFAULT_LITELLM_VERSION}"
        )
    if version in COMPROMISED_LITELLM_VERSIONS:
        raise UsageError(
            f"{flag} {version}: LiteLLM {version} is a known-compromised release and will not be installed; "
            f"pick another version (refused: {', '.join(sorted(COMPROMISED_LITELLM_VERSIONS))})"
        )
    return version
