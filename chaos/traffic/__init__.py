"""Continuous traffic at every (worker, model) pair, readiness polling and management calls."""

from chaos.traffic.engine import FRONT_DOOR, TrafficConfig, TrafficEngine

__all__ = ["FRONT_DOOR", "TrafficConfig", "TrafficEngine"]
