"""``python -m policy_dsl`` runs the command-line interface."""

from policy_dsl.face.cli import main

raise SystemExit(main())
