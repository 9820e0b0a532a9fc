"""The course's shared data model: users, posts, accounts, products, orders and order items.

Every notebook from 02 on imports these classes. They are written in SQLAlchemy 2.0 style
(`DeclarativeBase` with `AsyncAttrs`, `Mapped[...]`, `mapped_column`, `relationship` with
`back_populates`). Constraint names follow PostgreSQL's own defaults (`users_email_key`,
`accounts_balance_check`, ...), so code and tests can match on them whether the schema was
created from these models or by hand.

Rows that belong to a user (posts, accounts, orders) and the items of an order are deleted with
their parent by the database (`ON DELETE CASCADE`); the relationships say `passive_deletes=True`
so that the ORM leaves that to the database instead of loading the children first.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    MetaData,
    Numeric,
    String,
    Text,
    func,
    inspect,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["Account", "Base", "Order", "OrderItem", "Post", "Product", "User"]

#: Reproduces the names PostgreSQL itself gives to unnamed constraints. Check constraints
#: need a short name ("balance") that the convention expands to "accounts_balance_check".
NAMING_CONVENTION: dict[str, str] = {
    "pk": "%(table_name)s_pkey",
    "uq": "%(table_name)s_%(column_0_name)s_key",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "ix": "ix_%(table_name)s_%(column_0_name)s",
}

ORDER_STATUSES: tuple[str, ...] = ("pending", "paid", "shipped", "cancelled")


class Base(AsyncAttrs, DeclarativeBase):
    """Declarative base for the course models; `Base.metadata` holds the whole schema."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    #: Attributes shown by `repr()`, in order.
    _repr_attrs: ClassVar[tuple[str, ...]] = ("id",)

    def __repr__(self) -> str:
        # Read the already-loaded state only: repr() must never trigger a lazy load, which
        # in async code would raise MissingGreenlet (for example when Jupyter displays an
        # object whose attributes were expired by a commit).
        loaded = inspect(self).dict
        parts = []
        for name in self._repr_attrs:
            value: Any = loaded.get(name, _NotLoaded)
            parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class _NotLoadedType:
    def __repr__(self) -> str:
        return "<not loaded>"


_NotLoaded = _NotLoadedType()


class User(Base):
    """A registered user; owns posts, accounts and orders."""

    __tablename__ = "users"
    _repr_attrs = ("id", "email", "name")

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    posts: Mapped[list[Post]] = relationship(
        back_populates="author", cascade="all, delete-orphan", passive_deletes=True
    )
    accounts: Mapped[list[Account]] = relationship(
        back_populates="owner", cascade="all, delete-orphan", passive_deletes=True
    )
    orders: Mapped[list[Order]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Post(Base):
    """A blog post written by a user."""

    __tablename__ = "posts"
    _repr_attrs = ("id", "author_id", "title")

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    author: Mapped[User] = relationship(back_populates="posts")


class Account(Base):
    """A money account of a user; the balance can never go below zero."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance"),)
    _repr_attrs = ("id", "owner_id", "balance")

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    balance: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    owner: Mapped[User] = relationship(back_populates="accounts")


class Product(Base):
    """A product for sale, identified by its SKU; stock can never go below zero."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint("stock >= 0", name="stock"),
    )
    _repr_attrs = ("id", "sku", "price", "stock")

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    stock: Mapped[int]

    order_items: Mapped[list[OrderItem]] = relationship(back_populates="product")


class Order(Base):
    """An order placed by a user; its status is one of `ORDER_STATUSES`."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in ORDER_STATUSES) + ")", name="status"
        ),
    )
    _repr_attrs = ("id", "user_id", "status")

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    user: Mapped[User] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", passive_deletes=True
    )


class OrderItem(Base):
    """One line of an order: a product, a quantity above zero and the unit price paid."""

    __tablename__ = "order_items"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)
    _repr_attrs = ("id", "order_id", "product_id", "quantity", "unit_price")

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))

    order: Mapped[Order] = relationship(back_populates="items")
    product: Mapped[Product] = relationship(back_populates="order_items")
