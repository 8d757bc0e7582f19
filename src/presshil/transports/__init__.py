"""Press bindings over a wire: Modbus TCP/RTU (:mod:`.modbus`) and the ASCII line protocol
(:mod:`.serial_line`), with the register map (:mod:`.registers`) both sides share."""
