"""Talk groups: TalkGroupService (service.py: allocation, patches, membership, transmissions) and
the views, payload shapes and group query it shares with the talk-group panel (views.py)."""
from .service import TalkGroupService
from .views import PoolStatus, TalkGroupView, TransmissionView, armed_warning, owning_room, pool_warning, view_of

__all__ = ["PoolStatus", "TalkGroupService", "TalkGroupView", "TransmissionView", "armed_warning", "owning_room",
           "pool_warning", "view_of"]
