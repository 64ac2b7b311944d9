"""Continuous traffic at every (worker, model) pair, readiness polling and management calls."""

from .engine import TrafficConfig, TrafficEngine

__all__ = ["TrafficConfig", "TrafficEngine"]
