"""API tokens: get one with a username and password (throttled), revoke the current one or all of one's own."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import throttling
from accounts.actor import actor
from accounts.tokens import token_create, token_revoke, token_revoke_all
from core.errors import ApplicationError
from core.inputs import valid_input


class TokenInput(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenOutput(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="Shown once: only its digest is kept. Send as `Authorization: Token …`.")
    expires = serializers.DateTimeField(allow_null=True)


class RevokedOutput(serializers.Serializer[Any]):
    revoked = serializers.IntegerField()


class TokenCreate(APIView):
    """POST username and password: a new API token, shown once, expiring after ``AGORA_TOKEN_TTL_HOURS``.
    Throttled per account and per address: too many wrong passwords answer 429 until the window has passed."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=TokenInput, responses={200: TokenOutput})
    def post(self, request: Request) -> Response:
        data = valid_input(TokenInput, request.data)
        door = throttling.door("login")
        address = throttling.client_address(request._request)
        throttling.throttle_check(door, account=data["username"], address=address)
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None:
            throttling.throttle_fail(door, account=data["username"], address=address)
            raise ApplicationError("login_failed", "Wrong username or password.", "用户名或密码错误。")
        throttling.throttle_clear(door, account=data["username"])
        token, expires = token_create(user=user)  # type: ignore[arg-type]
        return Response(TokenOutput({"token": token, "expires": expires}).data)


class TokenLogout(APIView):
    """POST: revoke the token this request carries."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: RevokedOutput})
    def post(self, request: Request) -> Response:
        if request.auth is None:
            raise ApplicationError(
                "no_token", "This request carries no API token to revoke.", "本次请求未使用 API 令牌，无可撤销的令牌。"
            )
        token_revoke(user=actor(request), token=request.auth)
        return Response(RevokedOutput({"revoked": 1}).data)


class TokenLogoutAll(APIView):
    """POST: revoke every API token of the caller (for example after a device is lost)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: RevokedOutput})
    def post(self, request: Request) -> Response:
        return Response(RevokedOutput({"revoked": token_revoke_all(user=actor(request))}).data)
