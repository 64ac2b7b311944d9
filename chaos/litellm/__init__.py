"""The system under test: LiteLLM releases on the package index, one cached environment per
version, the pinned and tested versions, the models a stack serves and the user's own config.

(Absolute imports everywhere in this package: `import litellm` still means LiteLLM itself.)"""
