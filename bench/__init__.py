"""`make bench`: how long `cloudbr check` and `cloudbr render` take on large inventories, how
much memory they need, and what a seed ISO costs next to cloud-localds."""
