from lvs_tui.cli import main

raise SystemExit(main())
