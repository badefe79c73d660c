from .multiway import Multiway

__all__ = ['Multiway']
