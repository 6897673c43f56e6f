"""``policy-dsl serve`` (its arguments: face/commands.py): runs the HTTP service
(policy_dsl.face.service). Nothing of the server stack (Starlette, uvicorn) is imported until the
command runs, so the other commands start as quickly as before; it is an optional extra:
``pip install "policy-dsl[serve]"``."""

from __future__ import annotations

import os

from policy_dsl.language.errors import EXIT_OK, Diagnostic, InputError, Where


def cmd_serve(args) -> int:
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise InputError(Diagnostic("E-USAGE", f"`serve` needs the serve extra ({exc.name} is not installed)",
                                    Where("command line"), 'pip install "policy-dsl[serve]"')) from None
    if not 0 < args.port < 65536:
        raise InputError(Diagnostic("E-USAGE", f"--port {args.port} is not a TCP port", Where("command line"),
                                    "e.g. --port 8000"))
    from policy_dsl.face import service

    limits = service.Limits()
    if args.max_body is not None:
        if args.max_body < 1024:
            raise InputError(Diagnostic("E-USAGE", "--max-body is under 1024 bytes", Where("command line"),
                                        "e.g. --max-body 16777216"))
        limits.max_body = args.max_body
    holder = service.PolicyHolder.from_args(args.policies, args.rev)  # a policy set with errors stops here (exit 1)
    app = service.create_app(holder, limits, lang=args.lang)
    import sys

    sys.stderr.write(f"policy-dsl serve: http://{args.host}:{args.port}/  ({holder.describe()['source']})\n")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, root_path=args.root_path,
                forwarded_allow_ips=args.forwarded_allow_ips or os.environ.get("FORWARDED_ALLOW_IPS"),
                timeout_keep_alive=limits.keep_alive, server_header=False, access_log=args.log_level in ("info", "debug"))
    return EXIT_OK

