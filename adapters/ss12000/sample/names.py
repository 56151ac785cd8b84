"""Name lists for synthetic people and schools, ordered roughly by how common they are in Sweden.

Children and adults get different given-name lists (names follow fashion); a share of people get
names common among Swedes with roots elsewhere, as in any Swedish municipality.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GIRLS = _words(
    "Alice Maja Vera Elsa Astrid Alma Selma Wilma Ebba Saga Olivia Ella Freja Stella Agnes Clara "
    "Alva Signe Ellie Nova Lilly Ellen Leah Elvira Ines Meja Julia Elin Molly Tyra Ester Hedda "
    "Sigrid Edith Juni Iris Luna Isabelle Emilia Thea Lova Majken Sara Nora Linnéa Emma Ida Hanna "
    "Matilda Felicia Moa Tilda Lovisa Klara Filippa Amanda Elise Livia Nellie "
    "Svea Greta Märta Ingrid Sofia Mira Hilda Hilma Tuva Lykke Siri Ronja Vilda Stina Lea Tove "
    "Elina Alicia Minna Joline Jasmine Embla Juno Cornelia Lisa Liv Vendela Ellinor "
    "Cleo Hedvig Alexandra Smilla Penny Jennie Mathilda Olga Valentina Emmy Nathalie Amelia "
    "Victoria Josefine Evelina Rut Dagny Elma Isolde Vilma Ylva Fanny Märtha Charlotte"
)

BOYS = _words(
    "William Liam Noah Hugo Lucas Oliver Elias Adam Alexander Oscar Walter Vincent Nils Theo "
    "Arvid Leo Ludvig Frans Harry Isak Viktor Olle Sixten Charlie Alfred Axel Gustav Melvin Love "
    "Edvin Albin Filip August Loke Malte Sam Wilmer Milo Elton Otto Ebbe Jack Jonathan Emil Anton "
    "Max Leon Kevin Casper Melker Valter Ville Henry Gabriel Benjamin Kasper Eddie Julian Mio "
    "Colin Vidar Tage Sigge Elis Aron Ture Gunnar Josef Erik Carl Viggo Douglas Joel Simon "
    "Sebastian Jacob Samuel David Rasmus Linus Lukas Felix Dante Hjalmar Manne Bror Svante Tor "
    "Algot Bruno Idris Ivar Alvin Matteo Mattias Tim Tobias Valdemar Wille Jonte Noel Elliot "
    "Levi Teodor Birger Gösta Folke Måns Sune Kian Nicolas Emanuel Ragnar Olof Holger"
)

WOMEN = _words(
    "Anna Eva Maria Karin Kristina Lena Sara Kerstin Emma Ingrid Marie Malin Jenny Hanna Linda "
    "Annika Susanne Elin Monica Birgitta Sofia Johanna Cecilia Camilla Åsa Helena Ulrika Therese "
    "Lisa Anneli Sandra Josefin Frida Carina Jessica Petra Maja Ulla Gunilla Ann-Sofie "
    "Anna-Karin Mia Louise Caroline Katarina Emelie Elisabeth Veronica Madeleine Marlene Ylva "
    "Solveig Agneta Ewa Britt Inger Margareta Lotta Pernilla Charlotta Sofie Matilda Jennie "
    "Jeanette Maria-Louise Ida Amanda Rebecka Linnea Helene Anette Eva-Lena Viktoria Nina Ann "
    "Karolina Erika Hillevi Marita Gunnel Ingela Ingegerd Tove Stina Klara Katja Annelie Ebba "
    "Paula Mikaela Vanja Siv Gudrun Ronja Anja Liselott Ellinor Fredrika Mona Lovisa Rakel"
)

MEN = _words(
    "Lars Mikael Anders Johan Erik Per Karl Peter Thomas Jan Daniel Fredrik Hans Andreas Stefan "
    "Mats Magnus Mattias Bengt Jonas Martin Niklas Björn Henrik Marcus Tobias Patrik Ulf "
    "Christer Göran Robert Joakim Håkan Kjell Sven Rolf Roger Jörgen Åke Tommy Bo Leif Pär Örjan "
    "Sören Torbjörn Göte Gustav Emil Oskar Simon Jesper Viktor Sebastian Linus David Rickard "
    "Kristoffer Jimmy Christian Anton Filip Olof Nils Lennart Kent Dan Claes Gunnar Ola Lasse "
    "Jens Staffan Tomas Ingemar Kenneth Stig Ove Bertil Hampus Pontus Ludvig Alexander Axel "
    "Carl-Johan Per-Olof Jan-Erik Kalle Arne Conny Mathias Pelle Benny Tord Lars-Göran Sten"
)

FOREIGN_GIRLS = _words(
    "Fatima Amina Zainab Noor Maryam Aya Layla Hiba Yasmin Nour Dalia Ayan Hodan Leyla Zeynep "
    "Elif Azra Emina Lejla Amra Mariam Sofija Milica Ana Jelena Natalia Zuzanna Weronika Mina "
    "Shirin Parisa Nasrin Helin Rojin Dilan Ranim Hana Ilham Salma Samira Rahma Ikram Hawa "
    "Sumaya Asma Lina Rania Yara Malak Tamara Dragana Aleksandra Kinga Oliwia Marta Ewelina "
    "Mei Linh Huong Thuy Priya Ananya Sabrina Meron Selam Hanan Nadia"
)

FOREIGN_BOYS = _words(
    "Mohammed Ali Ahmed Omar Yusuf Hassan Hussein Ibrahim Mustafa Abdullahi Mahmoud Karim Amir "
    "Adnan Emir Kerem Can Mehmet Emre Arman Aras Dara Reza Arash Dawit Yonas Tesfay Abdi Liban "
    "Jakub Kacper Luka Marko Nikola Dino Armin Edin Tarik Samir Walid Anas Bilal Zakaria Rami "
    "Mohamad Muhammad Abdirahman Hamza Yahya Idris Ayub Khalid Jamal Nabil Milan Stefan Dušan "
    "Mateusz Piotr Tomasz Duc Minh Huy Arjun Rohan Hamid Kamal Amanuel Filmon Noel"
)

FAMILY = _words(
    "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson "
    "Pettersson Jonsson Jansson Hansson Bengtsson Jönsson Lindberg Jakobsson Magnusson Lindström "
    "Olofsson Lindqvist Lindgren Berg Axelsson Bergström Lundberg Lind Lundgren Lundqvist "
    "Mattsson Berglund Fredriksson Sandberg Henriksson Forsberg Sjöberg Wallin Engström Eklund "
    "Danielsson Lundin Håkansson Björk Bergman Gunnarsson Holm Wikström Samuelsson Isaksson "
    "Fransson Bergqvist Nordström Björklund Arvidsson Nyström Holmberg Söderberg Lundström "
    "Nyberg Blomqvist Claesson Nordin Mårtensson Öberg Åberg Sundberg Ström Hedlund Dahlberg "
    "Hermansson Sundström Ekström Holmgren Falk Dahl Hellström Ek Strand Sjögren Abrahamsson "
    "Martinsson Öman Löfgren Åkesson Hedberg Ivarsson Nordqvist Jonasson Blom Månsson "
    "Sandström Lindholm Ekberg Åström Lindell Nordberg Hedström Söderström Berggren Johnsson "
    "Jensen Sundqvist Borg Lindahl Ahlberg Ekman Friberg Åkerman Hägglund Kvist Lund Norberg "
    "Sjöström Wiklund Engberg Holmqvist Nordlund Boström Rosén Thorén Wahlström Öhman Lundh "
    "Norén Hallberg Strömberg Rydberg Vikström Åkerlund Ekdahl Hammar Sjödin Granberg Westberg "
    "Lindblom Lindén Palm Eliasson Petersson Nylund Forslund Jakobsen Ljung Hagström Melin "
    "Ågren Sahlin Ekholm Hult Lilja Rask Sköld Wennberg Carlsson Knutsson Göransson Ottosson"
)

FOREIGN_FAMILY = _words(
    "Ali Mohammed Ahmed Hassan Mohamed Hussein Abdi Yilmaz Nguyen Kaya Mohammadi Hosseini "
    "Kowalski Nowak Popović Hadžić Hodžić Jovanović Petrović Demir Çelik Şahin Öztürk Haddad "
    "Khalil Ibrahim Osman Yusuf Warsame Tesfaye Haile Rahimi Karimi Ahmadi Rezaei Novak Kovač "
    "Rossi Garcia Silva Kim Tran Pham Virtanen Korhonen Nieminen Mäkinen Hämäläinen Farah Aden "
    "Jama Omar Khan Hussain Singh Wiśniewski Wójcik Kamiński Lewandowski Mehmedović Begić "
    "Nikolić Marković Đorđević Abdullah Saleh Mahmoud Jaber Nasser Hamid Sadiq Shah"
)

SCHOOL_STEMS = _words(
    "Björk Ek Sol Tall Lind Gran Äng Sjö Berg Dal Hag Kvarn Bäck Furu Rönn Alm Ask Lönn Hassel "
    "Vide Ljung Norr Söder Väster Öster Strand Hög Kulla Skog Ros Lilje Klöver Vass Sten Vik "
    "Mos Ås Tuna Ekeby Lunda Sjöbo Fågel Hjort Rå Örn Stor Ny Kyrk Bro Ham"
)

SCHOOL_PARTS = ("", *_words("backa dals hags ängs sjö bergs viks lunds gårds höjds"))

MUNICIPALITIES = _words(
    "Ekdala Björkvik Sjöhamra Granås Lövsta Norrvik Tallmo Ängaby Solvik Hassleby Bergsjö "
    "Kvarnby Älvdala Stenhamra Rönnby Fjällby"
)

PROGRAMMES: tuple[tuple[str, str], ...] = (
    ("NA", "NANAT"),
    ("NA", "NANAS"),
    ("SA", "SASAM"),
    ("SA", "SABET"),
    ("EK", "EKEKO"),
    ("EK", "EKJUR"),
    ("TE", "TEINF"),
    ("TE", "TETEK"),
    ("ES", "ESMUS"),
    ("ES", "ESBIL"),
    ("BA", "BAANL"),
    ("EE", "EEELT"),
    ("HA", "HAHAN"),
    ("VO", "VOVAR"),
)
