"""`python -m nianbao` is the `nianbao` command."""

from nianbao.startup import main

main()
