"""compiled backends of the engine's intermediate form, held to the reference evaluator by tests."""
