from linepatrol.cli import main

raise SystemExit(main())
