"""The authenticated user of an API request, typed as `User`.

Views whose permission class already requires a login call this instead of `request.user`, which
the stubs type as `User | AnonymousUser`; an anonymous request that slipped through is refused.
"""

from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated

from accounts.models import User


def actor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
