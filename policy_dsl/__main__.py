"""``python -m policy_dsl`` runs the command-line interface."""

from policy_dsl.cli import main

raise SystemExit(main())
