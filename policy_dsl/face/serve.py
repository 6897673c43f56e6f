"""``policy-dsl serve`` (its arguments: face/commands.py): runs the HTTP service
(policy_dsl.face.service). Nothing of the server stack (Starlette, uvicorn) is imported until the
command runs, so the other commands start as quickly as before; it is an optional extra:
``pip install "policy-dsl[serve]"``."""

from __future__ import annotations

import os
from pathlib import Path

from policy_dsl.language.errors import EXIT_OK, Diagnostic, InputError, command_line
from policy_dsl.language.messages import t


def cmd_serve(args) -> int:
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise InputError(Diagnostic("E-USAGE", t("serve.needs_extra", module=exc.name), command_line(),
                                    'pip install "policy-dsl[serve]"')) from None
    if not 0 < args.port < 65536:
        raise InputError(Diagnostic("E-USAGE", t("serve.bad_port", port=args.port), command_line(),
                                    t("serve.bad_port.hint")))
    if not 1 <= args.workers <= 64:
        raise InputError(Diagnostic("E-USAGE", t("serve.bad_workers", workers=args.workers), command_line(),
                                    t("serve.bad_workers.hint")))
    if args.max_body is not None and args.max_body < 1024:
        raise InputError(Diagnostic("E-USAGE", t("serve.small_body"), command_line(), t("serve.small_body.hint")))
    import json
    import sys

    from policy_dsl.face import service

    settings = {"policies": [str(Path(p).absolute()) for p in args.policies or ()], "rev": args.rev, "lang": args.lang,
                "max_body": args.max_body}
    holder = service.PolicyHolder.from_args(args.policies, args.rev)  # a policy set with errors stops here (exit 1)
    sys.stderr.write(t("serve.listening", url=f"http://{args.host}:{args.port}/", source=holder.describe()["source"]) + "\n")
    options = dict(host=args.host, port=args.port, log_level=args.log_level, root_path=args.root_path,
                   forwarded_allow_ips=args.forwarded_allow_ips or os.environ.get("FORWARDED_ALLOW_IPS"),
                   timeout_keep_alive=service.Limits.keep_alive, timeout_graceful_shutdown=10, server_header=False,
                   access_log=args.log_level in ("info", "debug"))
    sys.setswitchinterval(0.001)  # the event loop gets its turn sooner while a thread works out a new question
    if args.workers > 1:  # each process makes its own application from the same settings
        os.environ[service.SETTINGS_VARIABLE] = json.dumps(settings)
        uvicorn.run("policy_dsl.face.service:app_from_environment", factory=True, workers=args.workers, **options)
    else:
        uvicorn.run(service.app_from_settings(settings, holder), **options)
    return EXIT_OK
