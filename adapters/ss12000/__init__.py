"""SS 12000:2020 source: IST EduCloud (Extens), Tietoevry Edlevo and any standard server.

``client`` talks HTTP, ``folder`` reads a dump of pages, ``mapping`` turns SS 12000 objects
into the canonical model, ``source`` ties them to the engine, ``sandbox`` emulates a server.
"""
