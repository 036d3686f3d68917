"""Roles and what each may do: the one place that decides who may do what.

Kept apart from :mod:`linepatrol_service.auth` (tokens, the database) so that the domain's
transition table (:mod:`linepatrol_service.domain`) can name permissions without importing the
database layer.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    UPLOADER = "uploader"
    REVIEWER = "reviewer"
    ADMIN = "admin"
    DEVICE = "device"  # a corridor camera: pushes its own photos, nothing else


class Permission(StrEnum):
    FLIGHTS_WRITE = "flights:write"  # create, upload to, submit and cancel flights
    FLIGHTS_READ = "flights:read"  # flights, their reports and photos
    DEFECTS_READ = "defects:read"
    DEFECTS_WRITE = "defects:write"
    ADMIN = "admin"  # tokens, ledgers and the camera registry
    CAMERA_PUSH = "cameras:push"  # push photos to a camera (a device token: its own only)


# The one place that decides who may do what.
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.UPLOADER: frozenset({Permission.FLIGHTS_WRITE, Permission.FLIGHTS_READ}),
    Role.REVIEWER: frozenset(
        {Permission.FLIGHTS_READ, Permission.DEFECTS_READ, Permission.DEFECTS_WRITE}
    ),
    Role.ADMIN: frozenset(Permission),
    Role.DEVICE: frozenset({Permission.CAMERA_PUSH}),
}
