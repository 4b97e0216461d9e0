"""``python -m mocap``: the same as the ``mocap`` command."""

from mocap.cli import main

raise SystemExit(main())
