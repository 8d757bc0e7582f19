"""The plant: a simulated press without its controller, for firmware in the loop.

``presshil plant serve`` (:func:`presshil.plant.serve.plant_serve_main`) runs the press
mechanics, the specimen and the sensors in real time and serves them on Modbus TCP / RTU
with the plant register map (:mod:`presshil.maps.plant`, ``docs/plant-map.md``); the
firmware under test reads the sensors and writes the actuator. The ground truth is kept
apart, for the judge (:mod:`presshil.fil`).
"""

from __future__ import annotations

__all__: list[str] = []
