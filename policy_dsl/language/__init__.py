"""files → the policy model (with positions): safe YAML, loading, expressions, kinds, regions, periods."""
