"""`python -m keras_genzoo.cli`: the same as the `keras-genzoo` command."""

import sys

from keras_genzoo.cli.main import main

sys.exit(main())
