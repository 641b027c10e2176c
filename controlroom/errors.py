"""The public name of the errors every service call may raise (a facade contract: extend, never rename).

Their home is controlroom/kernel/errors.py; this module IS that module (one object, two names), so
`from controlroom.errors import Conflict` and `controlroom.kernel.errors.Conflict` are the same class.
"""
import sys

from .kernel import errors as _errors

sys.modules[__name__] = _errors
