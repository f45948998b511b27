"""`arc-top fix --from FILE… CODE --target KIND/NAMESPACE/NAME`: the fix for a finding of saved files, planned
exactly as against the cluster (checks/remedies.py from the saved objects) and printed — `-o patch` as kubectl
commands, `-o yaml` as the objects after the fix, `-o json` or text as the plan — with no cluster and no write.
Exit 0 with the plan; 2 with one line (unreadable files, no such finding, no plan)."""

from __future__ import annotations

import argparse
import time

from arc_top.cli.fix_view import Output, finding_json, plan_json, print_json, show_preview
from arc_top.cli.monitor_cmd import fail


def fix_from_files(args: argparse.Namespace) -> int:
    from arc_top import checks
    from arc_top.checks.fixplan import PlanError
    from arc_top.checks.remedy_credentials import NeedsInput
    from arc_top.cli.fix_target import codes_near, finding_matches, where_text
    from arc_top.fixes.saved import SavedFixer, as_patch_text, as_yaml_text
    from arc_top.fixes.session import Refused
    from arc_top.kube.offline import OfflineError, load_files

    try:
        offline = load_files(args.files, keep_raw=True)
    except OfflineError as exc:
        return fail(str(exc))
    findings = checks.run(offline.snapshot, now=offline.saved_at or time.time(), logs=offline.tails)
    hits = sorted((f for f in findings if finding_matches(args, f)), key=lambda f: f.sort_key())
    if not hits:
        near = codes_near(args, findings)
        return fail(f"no {args.code} finding for {where_text(args)} in the files (findings there: "
                    f"{', '.join(near) or 'none'})")
    finding = hits[0]
    fixer = SavedFixer(offline.raw)
    try:
        plan = fixer.plan(finding, findings)
        variant = plan.variant(args.variant)
    except NeedsInput:
        return fail(f"{finding.code}: rotating a credential needs the cluster (the new value is checked with GitHub "
                    "before it is written): run arc-top fix without --from")
    except (PlanError, Refused) as exc:
        return fail(f"cannot fix {finding.code} on {where_text(args)}: {exc}")
    except KeyError as exc:
        return fail(str(exc.args[0]) if exc.args else f"no variant {args.variant!r}")
    if args.output == "patch":
        print(as_patch_text(plan, variant), end="")
        return 0
    if args.output == "yaml":
        print(as_yaml_text(plan, variant), end="")
        return 0
    preview = fixer.preview(plan, variant.name, findings)         # read-only: computed here, nothing sent
    if args.output == "json":
        print_json({"command": "fix", "source": {"mode": "files", "files": list(offline.files)},
                    "finding": finding_json(finding), "plan": plan_json(preview)})
        return 0
    show_preview(Output(args.output), preview, plan.title, finding)
    return 0
