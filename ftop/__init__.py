"""ftop: a full-screen terminal dashboard for the Linux kernel's ftrace."""

__version__ = "0.1.0"
