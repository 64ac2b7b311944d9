"""The incident's components, one module each: PostgreSQL, HAProxy, Toxiproxy, the LiteLLM
workers, the front door, and the LiteLLM database (schema, seed, warm-reset state, model reads)."""
