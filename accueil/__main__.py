from accueil.cli import main

raise SystemExit(main())
