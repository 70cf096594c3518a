"""``lpspec examples``: the built-in example instances and sample sweep specs."""

from __future__ import annotations

from ._common import add_output_option, emit_text

NAME = "examples"
HELP = "list the built-in example instances and sweep specs"


def register(sub):
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_output_option(p, "the list")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..experiments.sweep import builtin_spec_names, load_spec
    from ..io.instances import example_names, load_example
    from ..sequence.corpus import CORPORA

    lines = ["Example instances (lpspec solve --example NAME; token indices are 0-based):"]
    lines += [f"  {name:<22} {load_example(name).description}" for name in example_names()]
    lines.append("Sample sweep specs (lpspec table NAME; lpspec table --show NAME prints one):")
    lines += [f"  {name:<22} {load_spec(name).description}" for name in builtin_spec_names()]
    lines.append("Bigram target/draft pairs (lpspec blocks --example NAME):")
    lines += [f"  {name:<22} {description}" for name, (_, description) in CORPORA.items()]
    emit_text("\n".join(lines), args, "the list")
    return 0
