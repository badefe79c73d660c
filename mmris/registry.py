"""mmris registries, children of mmsegmentation's.

Configs use ``default_scope = 'mmris'``: mmris modules are found first, and
mmseg / mmengine types (``SegDataPreProcessor``, ``LoadImageFromFile``,
``OptimWrapper`` ...) resolve through the parents without a prefix.
"""
from mmengine.registry import Registry
from mmseg.registry import DATA_SAMPLERS as MMSEG_DATA_SAMPLERS
from mmseg.registry import DATASETS as MMSEG_DATASETS
from mmseg.registry import EVALUATOR as MMSEG_EVALUATOR
from mmseg.registry import HOOKS as MMSEG_HOOKS
from mmseg.registry import INFERENCERS as MMSEG_INFERENCERS
from mmseg.registry import LOG_PROCESSORS as MMSEG_LOG_PROCESSORS
from mmseg.registry import LOOPS as MMSEG_LOOPS
from mmseg.registry import METRICS as MMSEG_METRICS
from mmseg.registry import MODEL_WRAPPERS as MMSEG_MODEL_WRAPPERS
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS as \
    MMSEG_OPTIM_WRAPPER_CONSTRUCTORS
from mmseg.registry import OPTIM_WRAPPERS as MMSEG_OPTIM_WRAPPERS
from mmseg.registry import OPTIMIZERS as MMSEG_OPTIMIZERS
from mmseg.registry import PARAM_SCHEDULERS as MMSEG_PARAM_SCHEDULERS
from mmseg.registry import RUNNERS as MMSEG_RUNNERS
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS
from mmseg.registry import VISBACKENDS as MMSEG_VISBACKENDS
from mmseg.registry import VISUALIZERS as MMSEG_VISUALIZERS
from mmseg.registry import WEIGHT_INITIALIZERS as MMSEG_WEIGHT_INITIALIZERS

__all__ = [
    'RUNNERS', 'LOOPS', 'HOOKS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS',
    'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS',
    'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS',
    'INFERENCERS'
]


def _child(name: str, parent: Registry, location: str) -> Registry:
    return Registry(name, parent=parent, locations=[location])


RUNNERS = _child('runner', MMSEG_RUNNERS, 'mmris.engine')
LOOPS = _child('loop', MMSEG_LOOPS, 'mmris.engine')
HOOKS = _child('hook', MMSEG_HOOKS, 'mmris.engine')
DATASETS = _child('dataset', MMSEG_DATASETS, 'mmris.datasets')
DATA_SAMPLERS = _child('data sampler', MMSEG_DATA_SAMPLERS, 'mmris.datasets')
TRANSFORMS = _child('transform', MMSEG_TRANSFORMS, 'mmris.datasets')
MODELS = _child('model', MMSEG_MODELS, 'mmris.models')
MODEL_WRAPPERS = _child('model_wrapper', MMSEG_MODEL_WRAPPERS, 'mmris.engine')
WEIGHT_INITIALIZERS = _child('weight initializer', MMSEG_WEIGHT_INITIALIZERS,
                             'mmris.models')
OPTIMIZERS = _child('optimizer', MMSEG_OPTIMIZERS, 'mmris.engine')
OPTIM_WRAPPERS = _child('optim_wrapper', MMSEG_OPTIM_WRAPPERS, 'mmris.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMSEG_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'mmris.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMSEG_PARAM_SCHEDULERS,
                          'mmris.engine')
METRICS = _child('metric', MMSEG_METRICS, 'mmris.evaluation')
EVALUATOR = _child('evaluator', MMSEG_EVALUATOR, 'mmris.evaluation')
VISUALIZERS = _child('visualizer', MMSEG_VISUALIZERS, 'mmris.visualization')
VISBACKENDS = _child('vis_backend', MMSEG_VISBACKENDS, 'mmris.visualization')
LOG_PROCESSORS = _child('log_processor', MMSEG_LOG_PROCESSORS, 'mmris.engine')
INFERENCERS = _child('inferencer', MMSEG_INFERENCERS, 'mmris.apis')
