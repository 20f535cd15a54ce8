"""``rnnkl config [--config FILE] [--set TABLE.KEY=VALUE ...] [--show-default]``: print the
effective configuration as TOML (what every other command would use with the same flags),
headed by a comment saying where its values came from; ``--show-default`` prints the built-in
default file itself, comments included. The printed TOML reads back to the same configuration.
"""

from __future__ import annotations

import argparse
import sys

from derivations.errors import InputError
from derivations.inputs.files import config_to_toml, default_config_toml, provenance_note
from proofs_check.commands._output import loaded_config


def run(args: argparse.Namespace) -> int:
    if args.show_default:
        given = [flag for flag, value in (("--config", getattr(args, "config", None)),
                                          ("--set", getattr(args, "set", None))) if value]
        if given:  # they would be ignored: the default file is printed as shipped
            raise InputError(f"--show-default prints the built-in default as shipped and takes "
                             f"no {' or '.join(given)} (drop --show-default to print the "
                             "effective configuration)")
        sys.stdout.write(default_config_toml())
        return 0
    loaded = loaded_config(args)
    sys.stdout.write(f"# effective configuration: {provenance_note(loaded)}\n\n"
                     + config_to_toml(loaded.config))
    if loaded.cluster is not None:  # validated by loaded_config; where report and sweep run
        from proofs_check.cluster import cluster_to_toml, read_cluster_table

        sys.stdout.write("\n" + cluster_to_toml(read_cluster_table(loaded.cluster)))
    return 0
