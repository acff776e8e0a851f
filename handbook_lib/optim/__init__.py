"""``handbook_lib.optim``: optimizers and learning-rate schedulers, laid out like ``torch.optim``.

>>> optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> optimizer.zero_grad(); loss.backward(); optimizer.step()
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "LBFGS", "Optimizer", "RMSprop", "SGD",
           "lr_scheduler"]
