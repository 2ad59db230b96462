# runc wrapper installed by setup_podman.sh where the sandbox lacks CAP_SYS_RESOURCE: deletes
# the rlimits from the OCI spec podman hands runc (`--bundle DIR` -> DIR/config.json for
# create/run, `--process FILE` for exec), then runs the real runc with the same arguments.
import json
import os
import sys

RUNC = "@RUNC@"


def option_value(args, long_name, short_name):
    for index, arg in enumerate(args):
        if arg in (long_name, short_name) and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(long_name + "="):
            return arg.split("=", 1)[1]
    return None


def drop_rlimits(path, in_process):
    try:
        with open(path) as handle:
            spec = json.load(handle)
    except (OSError, ValueError):
        return
    holder = spec if in_process else spec.get("process") or {}
    if holder.pop("rlimits", None) is None:
        return
    tmp = path + ".norlimits"
    with open(tmp, "w") as handle:
        json.dump(spec, handle)
    os.replace(tmp, path)


args = sys.argv[1:]
bundle = option_value(args, "--bundle", "-b")
if bundle:
    drop_rlimits(os.path.join(bundle, "config.json"), in_process=False)
process = option_value(args, "--process", "-p")
if process:
    drop_rlimits(process, in_process=True)
os.execv(RUNC, [RUNC] + args)
