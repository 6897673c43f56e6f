"""commands, rendering, the programmatic entry point."""
