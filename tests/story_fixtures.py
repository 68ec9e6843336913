"""Small developing stories written for the tests: a mill fire told over five days by three
outlets (the toll rises; two outlets give different injury counts on the same day), a council
vote in the same town, a fire in another town, and an undated article."""

MILL = [
    {"title": "Fire at Carrow flour mill kills two workers", "site": "Northfield Post",
     "published": "2025-05-02", "url": "https://northfieldpost.example/2025/05/02/carrow-mill-fire",
     "author": "Ann Lee",
     "text": "CARROW, May 2 - A fire at the Carrow flour mill killed two workers on Friday, the fire "
             "service said.\n\nEleven people were taken to hospital with burns and smoke inhalation.\n\n"
             "The blaze started in a grain dryer shortly after dawn, according to plant manager Rita "
             "Olsen.\n\nAbout 60 firefighters fought the flames for six hours.\n\nThe mill employs 140 "
             "people and supplies bakeries across the region."},
    {"title": "Carrow mill fire: death toll rises to four", "site": "Valley Times",
     "published": "2025-05-03", "url": "https://valleytimes.example/carrow-mill-toll-four",
     "author": "Tom Reyes",
     "text": "CARROW, May 3 - The death toll from the fire at the Carrow flour mill rose to four on "
             "Saturday, after two injured workers died in hospital.\n\nThe fire service said 40 people "
             "were injured in the blaze.\n\nInvestigators are examining the grain dryer where the fire "
             "began.\n\nRita Olsen said the mill would stay closed for at least a month."},
    {"title": "Carrow mill blaze injured 45, hospital says", "site": "Harbor Gazette",
     "published": "2025-05-03", "url": "https://harborgazette.example/carrow-mill-injured",
     "author": "Mia Chen",
     "text": "CARROW, May 3 - The regional hospital said 45 people were injured in the fire at the "
             "Carrow flour mill.\n\nFour workers have died since the blaze broke out at the mill on "
             "Friday.\n\nUnion leaders called for a full inquiry into safety at the plant."},
    {"title": "Carrow mill fire death toll reaches five", "site": "Northfield Post",
     "published": "2025-05-06", "url": "https://northfieldpost.example/2025/05/06/carrow-mill-five",
     "author": "Ann Lee",
     "text": "CARROW, May 6 - The death toll from the Carrow flour mill fire has risen to five, the "
             "fire service said on Tuesday.\n\nA night-shift worker who had been in intensive care "
             "died on Monday evening.\n\nProsecutors opened an inquiry into the grain dryer's "
             "maintenance.\n\nThe mill is expected to reopen in June."},
]
OTHER = [
    {"title": "Carrow council approves new bus depot", "site": "Valley Times",
     "published": "2025-05-04", "url": "https://valleytimes.example/carrow-bus-depot",
     "text": "Carrow town council voted 21 to 9 on Sunday to build a new bus depot on the old "
             "railway yard.\n\nThe depot will cost 18 million euros and open in 2027.\n\nMayor Ines "
             "Dahl said the vote ended five years of debate."},
    {"title": "Warehouse fire in Lenby injures three", "site": "Coastline Wire",
     "published": "2025-05-03", "url": "https://coastlinewire.example/lenby-warehouse-fire",
     "text": "LENBY, May 3 - A fire at a furniture warehouse in Lenby injured three firefighters on "
             "Saturday.\n\nThe roof collapsed an hour after the fire began.\n\nThe owner, Pavel Brandt, "
             "said the stock was insured."},
    {"title": "Library opens longer hours",
     "text": "The public library will open until nine in the evening from next month.\n\nThe "
             "change costs 40,000 euros a year."},
]
RECORDS = MILL + OTHER
