from cloudbr.cli import main

raise SystemExit(main())
