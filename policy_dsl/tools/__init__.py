"""what people run beside eval: diff, timeline, fmt, report, policy tests."""
