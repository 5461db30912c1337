"""Build ``automations/redact_data/given_names.txt.gz``: given names used in the UK.

    pip install faker==40.54.0 && python bench/make_given_names.py

The scrubber uses the list to find people named only in the answers (a support
worker, a manager, a family member). Sources: the first-name lists of Faker's
person providers (MIT licence) for the locales below, in Latin script, plus the
hand-written lists here (Welsh, Scottish, Irish, Caribbean, Chinese in pinyin,
Arabic and South Asian names in their usual English spellings). Place names that
are also given names are left out (see ``PLACES``), and so are names of two
letters or fewer.
"""

from __future__ import annotations

import gzip
import importlib
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "automations" / "redact_data" / "given_names.txt.gz"

LOCALES = (  # noqa: SIM905
    "en_GB en_IE ga_IE en_US en_IN en_PK en_NG ig_NG yo_NG ha_NG tw_GH en_KE sw pl_PL cs_CZ "
    "sk_SK ro_RO hu_HU lt_LT lv_LV hr_HR sl_SI et_EE tr_TR de_DE fr_FR it_IT es_ES pt_PT "
    "pt_BR nl_NL da_DK sv_SE no_NO fi_FI zu_ZA id_ID"
).split()

HAND = """
Aled Alun Angharad Bethan Bronwen Cadi Carys Cerys Dafydd Dai Dewi Eirlys Elin Eluned Emyr Ffion
Gareth Geraint Gethin Glesni Gruffydd Gwen Gwenllian Gwilym Gwyn Huw Hywel Idris Ieuan Iestyn Ioan
Iolo Iwan Llinos Llion Llŷr Lowri Mabli Mared Meinir Megan Meirion Nia Osian Owain Rhian Rhiannon
Rhodri Rhys Seren Siân Sioned Sion Steffan Tegan Tomos Wyn Wynn
Ailsa Alasdair Alastair Callum Catriona Eilidh Euan Ewan Fergus Fiona Fraser Hamish Innes Iona
Isla Ishbel Kenzie Kirsty Lachlan Mhairi Morag Morven Murdo Rhona Rory Seonaid Shona Struan
Aoife Bríd Caoimhe Ciara Ciarán Clodagh Cormac Dáithí Deirdre Dervla Eimear Eoin Fionnuala Oisín
Orla Pádraig Róisín Saoirse Seán Siobhán Sinéad Tadhg Niamh Declan Colm Cathal Ronan Fiachra
Beverley Claudette Dalton Delroy Desmond Errol Everton Garfield Hyacinth Jermaine Kemar Lascelles
Leroy Lloyd Marcia Merlene Neville Orville Pauline Shanice Tanisha Trevor Tyrone Winston Clive
Wei Jing Ming Xiao Hui Yan Ying Jun Lei Hao Jie Xin Mei Lin Fang Ling Hong Qiang Yong Tao Bo Chen
Zhen Yi Na Ping Yun Xia Min Hua Jian Feng Bin Gang Kai Zhi Zhang Xiaoming Xiaoling Meiling Jiayi
Ahmed Ahmad Mohammed Muhammad Mohammad Mohamed Fatima Fatimah Khadija Omar Umar Yusuf Youssef
Zainab Layla Leila Hamza Bilal Tariq Samira Nour Noor Rania Karim Hassan Hussein Husain Amira
Mariam Maryam Aaliyah Ibrahim Ismail Idris Khalid Mustafa Ayesha Aisha Salma Samir Yasmin Yasmine
Zahra Hana Huda Imran Irfan Nadia Rashid Saif Sana Walid Zaid Zayn Zain Amir Aziz Jamal Jamila
Priya Priyanka Anjali Arjun Amit Anil Deepak Gurpreet Harpreet Jaswinder Kiran Lakshmi Manpreet
Navdeep Neha Nikhil Parminder Pooja Rahul Rajesh Ravi Sanjay Sunita Suresh Vijay Sandeep Sukhjinder
Balwinder Rupinder Simran Ravinder Harjit Kuldip Baljit Inderjit Mandeep Jasbir Rakesh Raj
Abdul Shahid Nasreen Shabana Rukhsana Tahir Farhan Farah Faisal Junaid Shazia Asif Nusrat
Kwame Kofi Kwaku Kwabena Yaw Ama Akosua Adwoa Abena Efua Oluwaseun Seun Tunde Femi Bola Ngozi
Chidi Chinedu Emeka Ifeoma Nkechi Obinna Uche Adaeze Chiamaka Folake Funmi Kemi Tolu Yemi Wale
Dorota Agnieszka Małgorzata Krzysztof Tomasz Piotr Paweł Katarzyna Joanna Marta Ewa Łukasz Kasia
Bartosz Grzegorz Wojciech Zbigniew Andrzej Jolanta Beata Aleksandra Iwona Mirela Ionut Andrei
Bogdan Mihai Vasile Irina Svetlana Olga Natalia Dmitri Sergei Oksana Yuliya Olena Taras Mykola
Sukhvinder Rajinder Gurdeep Harjinder Kulwinder Baljinder Manjit Paramjit Amarjit Sukhdev Gurpal
Jagdeep Jagjit Harbhajan Satnam Tarsem Surinder Narinder Jasvir Gurmit Kamaljit Sarbjit Daljit
Charanjit Balbir Hardeep Gurinder Rupinder Parveen Jasmeet Simranjit Harleen Navjot Amandeep
Sunil Ramesh Mahesh Dinesh Ashok Vinod Suresh Rajendra Pravin Nilesh Hitesh Bhavesh Jignesh
Ketan Mitesh Paresh Rupesh Alpesh Kalpesh Hemant Harish Girish Jayesh Mukesh Naresh Pankaj Prakash
Hema Jyoti Kavita Meena Nisha Rekha Sangeeta Seema Shilpa Smita Usha Vandana Asha Bhavna Daksha
Hansa Jaya Kalpana Manisha Nirmala Pushpa Rashmi Sarita Sushila Tara Uma Varsha Chetan Dhruv
Rohan Vikram Varun Aditya Akash Siddharth Kunal Nikhil Karan Arun Vivek Rakesh Manoj Deepa Anita
Shabnam Tahmina Farhana Rehana Nazma Rubina Shamima Jahanara Nasima Rokeya Shirin Sultana Rozina
Salma Hasina Taslima Rahima Sufia Kulsum Momena Shahana Shamsul Mizanur Mahbub Rafiq Shafiq Anwar
Habib Jalal Kamal Moinul Nazrul Rezaul Saiful Shahjahan Abul Mujibur Ataur Lutfur Ashraf Faruk
Olumide Funmilayo Adebayo Temitope Olamide Ayodele Babajide Oluwatobi Damilola Adewale Folasade
Yetunde Kehinde Taiwo Idowu Abimbola Adeola Adesola Bukola Bunmi Dapo Dayo Deji Femi Gbenga Jide
Kunle Lanre Lola Modupe Niyi Olabisi Olawale Oluwafemi Omolara Remi Segun Sola Tayo Tobi Tope
Toyin Wunmi Yinka Chukwuemeka Chinonso Chioma Ebere Ekene Ikenna Kelechi Nnamdi Nneka Obiageli
Onyeka Uchenna Ugochi Amaka Adaora Chidinma Ifeanyi Kwesi Kojo Kweku Kobina Esi Akua Afua Yaa
Akosua Adjoa Efua Nana Abdi Abdirahman Abdullahi Ayaan Fadumo Hodan Hibaaq Ifrah Khadar Sahra
Warsame Hawa Asad Bashir Faisal Hanif Kashif Majid Nadeem Naveed Rizwan Sajid Shahzad Tanveer Wasim
Zubair Zulfiqar Iqbal Javed Khalil Mahmood Mushtaq Nasir Pervez Qasim Rafiq Saleem Shafqat Tahira
Bushra Fozia Ghazala Humaira Kausar Mehwish Naila Nazia Noreen Rabia Saima Samina Shagufta Shamim
Hyacinth Ionie Pearline Monica Verona Yvonne Carlene Donovan Dwayne Fitzroy Glenroy Lennox Linton
Maxine Novelette Paulette Rudolph Sonia Veronica Audley Barrington Carlton Delano Denzil Devon
Egbert Ferdinand Hopeton Lenford Milton Nathaniel Roydon Sylvester Wendell Winston
Thanh Minh Tuan Hung Huong Lan Linh Mai Ngoc Phuong Quang Thao Trang Tuyet Vinh Xuan Duc Hieu
Sinazo Thandiwe Themba Sipho Lindiwe Mpho Tendai Tatenda Farai Chipo Rutendo Tinashe Nyasha
Ahmet Mehmet Mustafa Emre Elif Zeynep Ayse Fatma Hatice Hulya Serkan Burak Cem Deniz Kemal Murat
Rezan Dilan Azad Baran Berivan Nazdar Shilan Soran Hevi Jiyan Karwan Rebaz Shwan Zana
Agnieszka Dorota Halina Jadwiga Krystyna Stanislaw Wieslaw Zdzislaw Mariusz Dariusz Janusz Jacek
Arkadiusz Sebastian Kamil Mateusz Szymon Jakub Wiktoria Zuzanna Natalia Magdalena Monika
Valentina Yevgenia Anastasia Nikolai Vladimir Volodymyr Oleksandr Oleksiy Bohdan Halyna Nadiya
Ruta Egle Jurgita Rasa Dovile Tomas Mindaugas Darius Rimantas Ilze Inese Janis Kristaps Liga
Gheorghe Constantin Florin Marian Nicoleta Alina Cristina Daniela Elena Gabriela Lavinia Raluca
Bongani Kagiso Lerato Thabo Naledi Zanele
"""

# Places (and a few organisations) that are also given names somewhere: a town in
# the answers is not a person.
PLACES = """
india jordan chelsea kent devon lincoln florence paris sydney victoria georgia carolina virginia
israel austin dallas houston phoenix brooklyn madison preston chester stanley bradford hamilton
clifton ashton crawley douglas darwin york berlin vienna sofia roma milan lourdes adelaide
alexandria asia africa america europe ireland scotland wales england britain london dublin
cardiff belfast glasgow leeds derby bentley thorne hull rotherham doncaster wakefield swansea
bristol kingston richmond warwick sheffield harrow wembley whitby selby bolton barnsley
halifax dudley burnley blackburn wigan stockport salford oldham bury barking ealing enfield
camden hackney brent newham lewisham bromley croydon sutton merton morley holly ivy tesco asda
aldi lidl boots sainsbury argos amazon google apple mind scope mencap barnardo oxfam
"""


def fold(s: str) -> str:
    nf = unicodedata.normalize("NFKD", s.replace("ł", "l").replace("Ł", "L"))
    return "".join(c for c in nf if not unicodedata.combining(c))


def faker_names() -> set[str]:
    out: set[str] = set()
    for loc in LOCALES:
        mod = importlib.import_module(f"faker.providers.person.{loc}")
        p = mod.Provider
        for attr in ("first_names", "first_names_male", "first_names_female"):
            v = getattr(p, attr, None)
            if v:
                out.update(v.keys() if hasattr(v, "keys") else v)
    return out


def main() -> None:
    names = faker_names() | set(HAND.split())
    places = set(PLACES.split())
    out = set()
    for n in names:
        f = fold(n.strip())
        if not all(c.isascii() and (c.isalpha() or c in "-'") for c in f):
            continue
        low = f.lower()
        if len(low.replace("-", "").replace("'", "")) <= 2 or low in places:
            continue
        out.add(low)
    OUT.write_bytes(gzip.compress(("\n".join(sorted(out)) + "\n").encode(), mtime=0))
    print(f"wrote {len(out)} names to {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
