"""Input and output: instance files, built-in examples, and table export.

The I/O layer sits above the core (instances, optima, schemes) and below the experiments
(:mod:`lpspec.experiments`): it imports neither the experiments nor the command line.

* :mod:`lpspec.io.instances` — :func:`load_instance_file` (JSON, CSV, ``.npy``, ``.npz``),
  :func:`parse_instance_object`, and the built-in examples (:func:`load_example`, :func:`example_names`).
* :mod:`lpspec.io.export` — :class:`Table` and :func:`write_table` (lossless CSV, Markdown, LaTeX, JSON,
  a pandas DataFrame).

Examples
--------
>>> from lpspec.io import load_example, Table
>>> load_example("figure2-left").k
2
>>> Table(["a"], [{"a": 1}]).columns
['a']
"""

from __future__ import annotations

from .export import (
    FORMATS,
    Table,
    as_table,
    format_from_path,
    format_table,
    read_csv,
    read_json,
    to_csv,
    to_dataframe,
    to_json,
    to_latex,
    to_markdown,
    write_table,
)
from .instances import (
    InstanceSpec,
    example_names,
    example_path,
    load_example,
    load_instance_file,
    parse_instance_object,
)

__all__ = [
    "FORMATS",
    "InstanceSpec",
    "Table",
    "as_table",
    "example_names",
    "example_path",
    "format_from_path",
    "format_table",
    "load_example",
    "load_instance_file",
    "parse_instance_object",
    "read_csv",
    "read_json",
    "to_csv",
    "to_dataframe",
    "to_json",
    "to_latex",
    "to_markdown",
    "write_table",
]
