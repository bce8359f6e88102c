"""Validate API input with a serializer; a failure becomes the platform's 400 shape."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


def valid_input(
    serializer_class: type[serializers.Serializer[Any]], data: Any, partial: bool = False
) -> dict[str, Any]:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
