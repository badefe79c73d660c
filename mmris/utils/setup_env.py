"""Register every mmris module and make ``mmris`` the default scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmris module so that its registry entries exist.

    Args:
        init_default_scope (bool): Make ``mmris`` the current default scope,
            so that ``MODELS.build(dict(type=...))`` from mmengine finds mmris,
            mmseg and mmengine modules. Defaults to True.
    """
    import mmris.datasets  # noqa: F401
    import mmris.engine  # noqa: F401
    import mmris.evaluation  # noqa: F401
    import mmris.models  # noqa: F401
    import mmris.visualization  # noqa: F401
    from mmseg.utils import register_all_modules as mmseg_register_all
    mmseg_register_all(init_default_scope=False)

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created('mmris'):
        DefaultScope.get_instance('mmris', scope_name='mmris')
    elif current.scope_name != 'mmris':
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "mmris"; a new one named "mmris-<time>" is made.')
        name = f'mmris-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='mmris')
