"""The OneRoster 1.2 source: a bulk CSV package (a folder or a zip), as international schools
and many edtech systems export their rosters."""
