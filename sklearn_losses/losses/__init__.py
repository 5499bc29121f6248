"""The loss catalogue: every loss is a small class registered under its key."""
from ._base import Loss, ScalarLoss, get_loss, list_losses, register_loss, PROPERTIES
from . import regression, regularizers  # noqa: F401  (register the catalogue)
from .regression import *  # noqa: F401,F403
from .regularizers import *  # noqa: F401,F403
from . import classification, energy  # noqa: F401,E402  (register the catalogue)
from .classification import *  # noqa: F401,F403,E402
from .energy import *  # noqa: F401,F403,E402
from . import ranking  # noqa: F401,E402  (register the catalogue)
from .ranking import *  # noqa: F401,F403,E402
from . import glm  # noqa: F401,E402  (register the catalogue)
from .glm import *  # noqa: F401,F403,E402
from . import generative  # noqa: F401,E402  (register the catalogue)
from .generative import *  # noqa: F401,F403,E402
