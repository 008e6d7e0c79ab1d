from cloudbr.cli import entry

entry()
