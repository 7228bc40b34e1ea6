"""The image's entrypoint: completes the environment the way the local stack does, then runs its
arguments (`dagster api grpc ...` from the chart, `dagster api execute_run ...` from the run
launcher, the image's CMD). A console script of the image (`dagster`) runs in this process,
which has imported Dagster already: every run's pod starts one interpreter, not two. Anything
else replaces this process.

Every setting reaches a resource through `EnvVar`, which fails at run time when its variable is
unset, whatever the field's default. Locally, `make run` exports each optional setting's default
(local_stack/launcher.py); on Kubernetes the Secret holds only credentials, required settings and
what a deployment overrides, so this fills in the rest: every resource field of the code
location bound to a variable that is unset gets the field's own default (defaults written
nowhere else, and none to list here when a setting is added). Each source's data origin is
`vendor`: the image has no sandbox, so its rows can only come from the vendor, whatever the
environment says."""

import os
import sys
from collections.abc import Mapping
from importlib.metadata import entry_points

from pydantic_core import PydanticUndefined

from pipelines.definitions import defs
from pipelines.sources import registry


def completed_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with every unset variable of a resource field at the field's default, and
    every source's origin `vendor`."""
    defaults: dict[str, str] = {}
    for resource in (defs.resources or {}).values():
        fields = type(resource).model_fields
        for field, value in vars(resource).items():
            variable = getattr(value, "env_var_name", None)  # an EnvVar (EnvVar.int's too)
            default = fields[field].default if field in fields else None
            if variable and default not in (None, PydanticUndefined):
                defaults[variable] = str(default)
    completed = {name: value for name, value in defaults.items() if not environ.get(name)}
    return {**environ, **completed, **{source.origin_variable: "vendor" for source in registry()}}


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: entrypoint.py COMMAND [ARGUMENT...]")
    environment = completed_environment(os.environ)
    scripts = entry_points(group="console_scripts", name=argv[0])
    if not scripts:
        os.execvpe(argv[0], argv, environment)
    os.environ.update(environment)
    sys.argv = argv
    sys.exit(next(iter(scripts)).load()())


if __name__ == "__main__":
    main(sys.argv[1:])
