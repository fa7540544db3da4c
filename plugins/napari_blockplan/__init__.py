"""napari plugin of blockplan: adapters between napari layers and the blockplan core."""

__all__: list[str] = []
