"""Flask glue shared by every blueprint: sessions, access, rendering, headers, assets, errors."""
