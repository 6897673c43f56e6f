"""model × case → result: resolve builds the one intermediate form; the reference evaluator interprets it."""
