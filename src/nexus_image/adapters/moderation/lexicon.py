"""The moderation lexicon: what each category refuses, in English, French, Spanish, German,
Italian and Portuguese, and the innocent phrases that share words with it.

Every entry is a regular expression over normalised text (`text.views`: lowercase, no accents,
words separated by single spaces; `ß` is `ss`, `ä` is `a`), matched as whole words. Word forms
are spelt out in the expression (`tortur(?:e|es|ed|ing)`), never left to a bare prefix, so that
`nudge` or `therapist` never match. The policy these lists implement is docs/safety.md."""

from __future__ import annotations

# --- innocent collisions, masked before any block rule --------------------------------------
ALLOW: tuple[str, ...] = (
    # colour, fashion and make-up "nude"; figurative "naked"
    r"nude (?:colou?r(?:ed|s)?|tones?|tone[ds]?|shades?|palette|beige|pink|lip ?sticks?|lips|lip gloss|"
    r"makeup|make up|nails?|nail polish|manicure|heels?|pumps|shoes|sandals|boots|stilettos|tights|"
    r"stockings|hosiery|dress|gown|slip dress|skirt|blouse|top|sweater|cardigan|coat|trench|bag|handbag|"
    r"leather|satin|silk|fabric|linen|suede|wall|walls|paint|interior|aesthetic|color scheme|"
    r"eyeshadow|eye shadow|blush|foundation)",
    r"(?:in |a |with |wearing )?(?:beige|blush|nude) and (?:beige|blush|nude|white|black|gold)",
    r"naked (?:eyes?|flames?|truth|mole rats?|cake|wire|bulbs?|light bulbs?|branches|trees?|"
    r"brick|walls?|concrete|wood|steel|ambition|aggression|lunch|chef|gun|singularity|city|"
    r"juice|bacon|short selling|option)",
    r"(?:to|with|by|through) the naked eye",
    r"(?:bare|naked) (?:feet|foot|hands?|arms?|shoulders?|walls?|branches|trees?|ground|earth|soil|rock)",
    r"(?:barefoot|bare ?foot)",
    r"(?:lip ?sticks?|lip gloss|nail polish|heels|pumps|shoes|sandals|makeup|palette|eyeshadow|"
    r"foundation|tights|stockings|bra|dress|blouse|colou?r|tone|shade|rouge a levres|vernis(?: a ongles)?|"
    r"fond de teint|couleur|teinte|escarpins|chaussures|collants|maquillage|robe|sac|pintalabios|"
    r"labial|esmalte|zapatos|tacones|medias|vestido|bolso|lippenstift|nagellack|schuhe|strumpfhose|"
    r"kleid|farbe|rossetto|smalto|scarpe|collant|vestito|borsa|batom|sapatos|saltos|meia calca|bolsa|cor) "
    r"(?:in |en |em |color |colour |couleur |color |farbe |colore |cor )?(?:nude|nu|nue|desnudo|nudo)",
    r"(?:naked|nude|desnud[ao]|nu|nue|nua|nackt(?:e|er)?|nud[ao]) (?:cakes?|gateaux?|gateau|tarta|tartas|"
    r"pastel|bolo|bolos|torta|torte|kuchen)",
    r"(?:cakes?|gateaux?|gateau|tarta|tartas|pastel|bolo|bolos|torta|torte|kuchen) (?:naked|nude|desnud[ao]|"
    r"nu|nue|nua|nackt(?:e|er)?|nud[ao])",
    r"horny (?:toads?|lizards?)|horned (?:toads?|lizards?)",
    r"(?:naked|nude|desnud[ao]s?|nu|nue|nua|nackte?[rn]?|nud[ao]) (?:\w+ )?(?:cakes?|gateaux?|tartas?|"
    r"pastel|bolos?|tortas?|torten?|kuchen|sponge)",
    r"(?:arbol|arboles|arvore|arvores|arbre|arbres|baum|baume|albero|alberi|ramas?|galhos?|branches?|"
    r"rami|mur|murs|pared|paredes|parede|muro|wand|wande|colline|colina|campo|champ|paisaje|paysage)"
    r"(?: \w+)? (?:desnud[oa]s?|nue?s?|nua|nuas|nus|kahl\w*|nackt\w*|nud[oie])",
    r"(?:desnud[oa]s?|nue?s?|nua|nuas|kahle?[nr]?|nackte?[nr]?|nud[oie]) (?:arbol|arboles|arvore|arvores|"
    r"arbre|arbres|baum|baume|albero|alberi|ramas?|galhos?|branches|rami|mur|murs|pared|paredes|wand)",
    r"(?:paint|wire|wallpaper|varnish|floor|insulation|cable|nail polish|gel polish) strippers?|"
    r"stripper (?:tool|pliers|tools)|stripping (?:paint|wallpaper|varnish|wire|wires|cables?)",
    # places
    r"dildo (?:newfoundland|nl|town|village|harbour|island)|intercourse (?:pennsylvania|pa|village|town)|"
    r"(?:welcome|sign|road|town|village|signpost)(?: \w+){0,2} (?:dildo|intercourse|fucking|climax|"
    r"penistone|twatt|shag harbour)|fucking (?:austria|village)|sexsmith|penistone|twatt (?:orkney|shetland)|"
    r"middlesex|wetwang|cockburn|cockermouth|titisee|clitheroe",
    r"nacktschneck\w*|nacktmull\w*|nacktkatze\w*",
    r"power rangers?",
    r"sex on the beach (?:cocktails?|drinks?|recipe)|(?:cocktail|drink) (?:called )?sex on the beach",
    r"hooker s (?:green|red)|hookers green|hooker green|john lee hooker",
    r"(?:moby|philip k|philip) dick|dick (?:whittington|tracy|grayson|van dyke|cheney|turpin|king|smith|"
    r"francis|dastardly)|spotted dick",
    r"shag (?:carpets?|rugs?|pile|haircut|hair)|shaggy",
    # negations: "no gore", "sfw, no nudity" ask for the opposite
    r"(?:no|not|non|without|zero|free of|sans|sin|ohne|senza|sem|kein|keine|pas de) (?:any )?(?:gore|gory|"
    r"blood|bloody|nudity|nude|naked|nsfw|sex|sexual content|violence|violent|explicit content|cleavage)"
    r"(?: or (?:gore|blood|nudity|violence|nsfw))?|(?:gore|nudity|blood) ?free|sfw|safe for work",
    r"(?:defeat|defeating|defeated|victory over|liberation from|fight against|fighting|fought|against|"
    r"resisting|resistance against) (?:the )?(?:nazis?|isis|kkk|fascis\w*|hitler|third reich|daesh)",
    r"(?:honou?ring|remembering|commemorating|mourning|celebrating|in memory of) (?:the )?(?:victims|"
    r"survivors|lives|heroes who fought|liberation|resistance|rescuers)",
    r"gore ?tex",
    r"al gore",
    r"suicide (?:squad|doors?|king|silence|note pad)",
    r"killer (?:whales?|bees?|app|smile|heels|queen|instinct|move)",
    r"blood (?:oranges?|moon|red|type|donation|donors?|bank|cells?|pressure|test|vessels?|brothers?|"
    r"diamond|sugar|hound|orange juice)",
    r"(?:cock ?(?:crow\w*|a doodle\w*)|(?:the |a )?cock (?:crows|crowing|of the walk|on (?:a|the) "
    r"(?:farm|fence|barn|roof))|weather ?cock|cock ?(?:pit|tail|roach|atoo|erel|er spaniel|ney|pheasant|"
    r"of the rock))",
    r"(?:rooster|hen|chicken|farm) and (?:a )?cock",
    r"pussy ?(?:willows?|cats?|foot)",
    r"(?:blue|great|coal|willow|marsh|crested|long ?tailed|bearded|penduline) tits?",
    r"blue ?footed boob(?:y|ies)",
    r"boob(?:y|ies) (?:bird|birds|island|trap|prize)",
    r"(?:chicken|turkey|duck) (?:breasts?|thighs?)",
    r"breast ?(?:stroke|plate|cancer|feeding|pocket|milk)",
    r"robin red ?breast",
    r"(?:tortured|torturous) (?:souls?|artists?|genius|expression|poet|look|past|history)",
    r"(?:summa|magna) cum laude",
    r"cum laude",
    r"(?:sex|gender) (?:symbol|education|ed|of the (?:baby|puppy|kitten|animal|bird)|pistols|ratio)",
    r"(?:french|spanish|german|italian) (?:kiss|tickler)",
    r"rape ?(?:seeds?|seed oil|fields?|flowers?)",
    r"oilseed rape",
    r"(?:moby|dick) (?:dick|tracy|grayson|van dyke)",
    r"(?:spotted )?dick pudding",
    r"hanging (?:gardens?|baskets?|plants?|lamps?|lights?|bridge|scroll|lanterns?|out)",
    r"strip (?:mall|club sign|light|lights|steak|of land|of paper|cartoon|comic|mine|search)",
    r"comic strips?",
    r"(?:drag|race|landing|mobius|magnetic) strips?",
    r"nudel(?:n|suppe|salat)?",
    r"kinder ?(?:schokolade|surprise|bueno|garten|egg|joy)",
    r"piece of cake",
    r"cotton candy",
    r"under ?wear (?:advert\w*|catalog\w*|on a (?:mannequin|hanger))",
    r"(?:virgin (?:olive oil|islands|mary|forest|snow|mojito))",
    r"(?:dead|killing) (?:sea|time|leaves|end|wood|tree|branch)",
    r"(?:shot|shooting) (?:glass|glasses|star|stars|of espresso|put|range|a photo|photos?|on (?:film|35mm))",
    r"(?:photo|film|camera|fashion|video|commercial|product|studio) shoot(?:ing)?",
    r"(?:massacre|murder) (?:mystery|mysteries) (?:party|novel|game|dinner)",
    r"(?:swastika|manji) (?:in )?(?:hindu|buddhist|jain)\w*",
    r"(?:hindu|buddhist|jain) (?:temple )?(?:swastika|manji)",
)

# --- categories -------------------------------------------------------------------------------
SEXUAL: tuple[str, ...] = (
    # nudity, English
    r"nu+(?:de|des|dez|dity|dities|dist|dists|dism)",
    r"noo+d(?:e|es|s|z)?",
    r"na+ked(?:ness)?",
    r"nekk?id|nekked|nakey|nakie|nakkid|nudie|nudies|nuddy|seggs|segs|secks",
    r"in the (?:nuddy|nudey|nude|nip|raw|buff|altogether)|starkers",
    r"(?:clothes|clothing|garments|dress|outfit)(?: \w+){0,3} (?:removed|taken off|stripped off|gone|"
    r"discarded|on the floor)|nothing (?:covering|to cover) (?:her|him|them|herself|himself)|"
    r"(?:woman|man|girl|boy|body|she|he|model|lady)(?: \w+){0,2} (?:completely|fully|totally|entirely) bare|"
    r"uncensored|no censorship|decensored|horizontal (?:tango|mambo|refreshment)|bumping uglies|"
    r"knocking boots|hanky panky|rumpy pumpy|doing the deed",
    r"(?:moaning|climax\w*|orgasm\w*|thrusting)(?: \w+){0,6} (?:in bed|bed|sheets)|"
    r"(?:in bed|bed|sheets)(?: \w+){0,6} (?:moaning|climax\w*|thrusting)|"
    r"(?:sweaty|naked|nude) bodies (?:intertwined|entwined)",
    r"(?:un|de)clothed",
    r"undress(?:ed|es|ing)?",
    r"disrobe[ds]?|disrobing",
    r"topless|bottomless|braless|pantiless|shirtless woman|shirtless girl",
    r"(?:no|without|without any|without her|without his|minus (?:her|his)) (?:clothes|clothing|garments|"
    r"bra|panties|underwear|top|bikini top)",
    r"(?:clothes|clothing|bra|panties|underwear|bikini) (?:off|removed|taken off|pulled (?:off|down)|"
    r"falling off)",
    r"(?:taking|took|takes|pulling|pulled) (?:off )?(?:her|his) (?:clothes|bra|panties|underwear) off",
    r"(?:taking|took|takes|pulling|pulled) off (?:her|his|all) (?:clothes|clothing|bra|panties|underwear)",
    r"(?:wearing|wears|in|with) (?:nothing|absolutely nothing)(?: (?:at all|on|but \w+(?: \w+)?))?",
    r"nothing (?:on|but (?:a|her|his) (?:smile|towel|necklace|jewel\w*|stockings|heels|body paint|"
    r"shadows?|tattoos?|sheet))",
    r"(?:wearing|in) only (?:a |her |his )?(?:smile|necklace|jewel\w*|stockings|heels|body paint|tattoos?)",
    r"(?:in (?:her|his|their) )?birthday suits?",
    r"au natur(?:el|al|ale|elle)",
    r"(?:not|without) (?:a|one) (?:stitch|thread|shred|scrap) (?:of )?(?:clothing|clothes|fabric)|"
    r"clothing optional|clothes optional|(?:everything|all) (?:showing|exposed|on display|visible)|"
    r"nothing left to the imagination|uncovered (?:body|bodies|woman|women|girl|man|chest|breasts?)|"
    r"(?:making|make|made|makes) love|love ?making|having intercourse",
    r"full frontal(?: nudity)?|letting it all hang out|(?:knickers|panties|pants|underwear|trousers|"
    r"shorts|bikini bottoms?) (?:pulled|yanked|pushed|slid) down|bare (?:arse|bum|bottom)|"
    r"shag(?:s|ged|ging)|bonk(?:s|ed|ing)|banging (?:her|him|each other)|getting laid|"
    r"(?:rides|riding) (?:his|her) (?:cock|dick)",
    # undressing, in the other languages
    r"(?:zieht|ziehen|zog) sich (?:aus|nackt aus)|sich ausziehen|auszieh(?:en|t|end)|entkleid(?:et|en|ung)|"
    r"se deshabill\w*|se desnuda\w*|desnudandose|(?:se )?quit(?:a|ando|andose|arse) la ropa|"
    r"si spoglia|spogliarsi|spogliandosi|(?:tirando|tira|tirar|tirou) a roupa|(?:se )?despindo|"
    r"despir ?se|ficando nua",
    r"in the (?:buff|altogether|raw)",
    r"(?:stark|buck|butt) naked|starkers",
    r"skinny ?dipping",
    r"strip ?(?:tease|teases|per|pers|ping|s? naked|club)|stripping (?:off|down|naked)",
    r"(?:bare|exposed|naked|uncovered|visible|showing (?:her|his)?) ?(?:breasts?|boobs?|nipples?|"
    r"chest of a woman|butt|buttocks|bottom|ass|arse|crotch|genitals?|private parts|privates|vagina|penis|"
    r"pussy|areolas?|areolae)",
    r"(?:her|his) (?:genitals|private parts|privates)",
    r"nipples?|areolas?|areolae",
    r"(?:boobs|boobies|titties|tittys|tits)(?! and)",
    r"genital(?:s|ia)?|vulva|vaginal?|vaginas|penis(?:es)?|phallus|testicles|scrotum|labia|clitoris",
    r"pussy|pussies|cock(?:s)?|dick(?:s)?|co+cks?|d1cks?",
    r"see ?through (?:lingerie|underwear|bra|panties|top with no bra)",
    r"(?:wet|transparent|sheer) (?:t ?shirt|shirt|top) (?:no|without) (?:bra|underwear)",
    # sexual acts and pornography
    r"sex|sexes|sexed|s e x",
    r"(?:having|have|has|had) sex|sex (?:scene|act|acts|tape|video|position|positions|toy|toys|doll|dolls|"
    r"worker|workers|party|slave|slaves)",
    r"sexual(?:ly)? (?:explicit|intercourse|act|acts|activity|content|position|pose|poses|scene|"
    r"situation|encounter|arousal|aroused|suggestive)",
    r"intercourse|copulat(?:e|es|ing|ion)|coitus|fornicat(?:e|es|ing|ion)",
    r"porn|porno\w*|pornos|porns|pornograph(?:y|ic|ical)|pron|pr0n|pronograph\w*|prono|"
    r"sex(?:szene|szenen|film|filme|bilder|video|videos|puppe|spielzeug)\w*|pornstars?|porn ?stars?|"
    r"porn ?hub|"
    r"xvideos|xhamster|onlyfans|only fans|brazzers",
    r"xxx|nsfw|n s f w|rule ?34|r34|hentai|ecchi|ahegao|yaoi|yuri hentai|futanari|futa|doujin(?:shi)? hentai",
    r"erotic(?:a|ally|ism)?|erotik|erotique|erotico|erotica|erotisch\w*|smut(?:ty)?|lewd|"
    r"obscene|x ?rated|adult (?:film|movie|video|content|site|star)",
    r"orgasm(?:s|ic|ing)?|climax(?:ing)? (?:in bed|during sex)|orgy|orgies|orgia|orgie|threesome|foursome|"
    r"gang ?bang(?:s|ed|ing)?|bukkake|creampie|cum(?:shot|shots|ming|s)?|jizz|semen|sperm (?:on|covered)|"
    r"ejaculat(?:e|es|ed|ing|ion)|masturbat(?:e|es|ed|ing|ion|or)|jerking off|jerk off|wank(?:ing|er)?|"
    r"fingering (?:her|him|herself|himself)|handjob|hand job|blowjob|blow ?job|bj|fellatio|cunnilingus|"
    r"rimming|anal(?: sex| play| beads)?|deep ?throat(?:ing)?|face ?fuck\w*|fuck(?:s|ed|ing)?|"
    r"f\*ck\w*|fking|screwing|humping|dry humping|69 position|sixty ?nine position|doggy ?style|"
    r"missionary position|cowgirl position|reverse cowgirl|spread(?:ing)? (?:her |his )?legs|"
    r"legs (?:spread|wide open)|spread eagle|penetrat(?:e|es|ed|ing|ion)|sodom(?:y|ie|ize)|"
    r"dildos?|vibrators?|butt ?plugs?|sex ?toys?|strap ?on|fleshlight",
    r"bdsm|bondage|fetish(?:es|ism|ist)?|dominatrix|kinky|shibari|ball ?gag|gimp suit",
    r"horny|aroused|arousal|lustful|slutt?y|sluts?|whores?|hookers?|prostitut(?:e|es|ion)|camgirls?|"
    r"cam girl|escort girl|milfs?|dilfs?|gilfs?",
    r"upskirt|down ?blouse|panty ?shots?|pantsu|camel ?toe|nip ?slip|wardrobe malfunction|"
    r"cleavage (?:shot|view) (?:no|without) bra",
    r"playboy (?:centerfold|playmate)|centerfold|pin ?up (?:nude|naked)|boudoir nude|glamou?r nude",
    # French
    r"nue|nues|nus|nu integral|toute? nue?s?|a poil|seins? nus?|torse nu(?:e|es)? (?:femme|fille)|"
    r"denude[es]?|deshabill(?:e|ee|ees|es|er|ant)|sans (?:vetements|habits|culotte|soutien ?gorge)|"
    r"nudite|pornographique|porno|sexe|sexuel(?:le|les|s)?|baise|baiser (?:sexuel)|salope|putes?|"
    r"fellation|sodomie|partouze|masturb(?:ation|er|e|ant)|ejaculation|penis|vagin|seins? (?:nus|a l air)|"
    r"tetons|chatte|bite|zizi|erotiques?|relations? sexuelles?|faire l amour|coucher avec",
    # Spanish
    r"desnud(?:o|a|os|as|ez|ismo|arse|andose)|sin ropa|sin (?:sosten|bragas|calzones)|en pelotas|"
    r"encuerad(?:o|a|os|as)|en cueros|empelotad(?:o|a)|porno|pornografi(?:a|co|ca)|sexo|sexual(?:es)?|"
    r"follando|follar|cogiendo|tetas|pezon(?:es)?|pene|vagina|cono|concha|verga|polla|"
    r"erotic(?:o|a|os|as)|masturb(?:ando|andose|acion|arse)|orgia|felacion|mamada|"
    r"haciendo el amor|relaciones sexuales|tetona",
    # German
    r"nackt\w*|nackig|splitternackt|entkleidet(?:e|en)?|"
    r"unbekleidet(?:e|en)?|ausgezogen(?:e|en)?|ohne (?:kleidung|klamotten|bh|hoschen|slip)|oben ohne|"
    r"porno(?:s|grafie|grafisch(?:e|en)?|graphie)?|geschlechtsverkehr|beischlaf|sexuell(?:e|en|er)?|"
    r"ficken|fickt|gefickt|bumsen|titten|brust(?:e)? (?:nackt|entblosst)|entblosst(?:e|en)?|nippel|"
    r"brustwarzen|muschi|fotze|schwanz (?:lutschen|blasen)|penis|vagina|erotisch\w*|"
    r"masturbier(?:t|en|end)|selbstbefriedigung|blasen (?:ihm|ihr)|sex (?:haben|szene)",
    # Italian
    r"nud(?:a|e|i|ita)|svestit(?:a|o|e|i)|spogliat(?:a|o|e|i)|senza (?:vestiti|mutande|reggiseno)|"
    r"porno|pornografi(?:a|co|ca)|sesso|sessual(?:e|i)|scopare|scopata|tette|capezzoli|pene|figa|cazzo|"
    r"erotic(?:o|a|i|he)|masturba(?:zione|rsi|ndosi)|pompino|orgia|fare l amore|a seno nudo|in topless",
    # Portuguese
    r"nua|nuas|nuzinha|pelad(?:a|as|inha)|sem roupa|sem (?:sutia|calcinha|cueca)|despid(?:a|o|as|os)|"
    r"porno|pornografi(?:a|co|ca)|sexo|sexual(?:is)?|transando|transar|foder|fodendo|peitos|"
    r"mamilos|penis|buceta|xoxota|pau duro|rola|erotic(?:o|a|os|as)|masturba(?:ndo|cao|r)|"
    r"boquete|orgia|fazendo amor|seios? (?:nus|a mostra|de fora)|de topless",
)

# Terms that are not refused alone but are with a minor (the combination rule): suggestive
# clothing, poses and descriptions.
SUGGESTIVE: tuple[str, ...] = (
    r"sexy|sexi|sexier|sexiest|seductive(?:ly)?|seduc(?:e|es|ed|ing|tion|tress)|sensual(?:ly|ity)?|sultry|"
    r"provocative(?:ly)?|alluring|flirt(?:y|ing|atious)|suggestive(?:ly)?|sexuali[sz](?:ed|ing|ation)|"
    r"sexual(?:ly)?|lust|lusty|desirable|hot body|hot and|so hot|very hot|hottie|steamy|spicy pics?",
    r"lingerie|underwear|under ?wear|panties|panty|knickers|thongs?|g ?strings?|bras?|corsets?|garters?|"
    r"garter belt|stockings and garters|negligee|teddy lingerie|babydoll|nightie|see ?through|"
    r"(?:micro|tiny|string|skimpy|revealing|thong|sling) (?:bikini|swimsuit|outfit|clothes|dress|"
    r"shorts|top)|skimpy|revealing|cleavage|busty|voluptuous|curvy body|thicc|big (?:breasts|boobs|"
    r"butt|ass)|large breasts|breasts|booty|butt|ass|thighs|crotch|legs apart|wet (?:t ?shirt|clothes)",
    r"bedroom (?:eyes|pose|photo|selfie)|in bed (?:posing|seductive\w*)|posing (?:in bed|on (?:a|the) bed)|"
    r"lying on (?:a|the) bed posing|boudoir|pin ?up|pinup|glamou?r (?:shot|pose|photo)|pole danc\w*|"
    r"lap danc\w*|twerk\w*|striptease|kiss(?:ing)? (?:an? )?(?:adult|man|woman|older)|"
    r"(?:on|with) (?:an? )?(?:older|adult) (?:man|men|woman)|sugar daddy|date with (?:an? )?(?:older|adult)",
    r"wedding night|honeymoon suite|honeymoon night|consummat\w*|"
    r"oppai|pantsu|ecchi|lolita fashion|fan ?service|suggestive pose|sexy pose|provocative pose|"
    r"spread(?:ing)? legs|bent over|on all fours|arched back|biting (?:her|his) lip|come hither",
    # French, Spanish, German, Italian, Portuguese
    r"sexy|sensuel(?:le|les|s)?|seduisant(?:e|es|s)?|seductrice|provocant(?:e|es|s)?|aguicheuse|"
    r"sous ?vetements|culotte|string|soutien ?gorge|porte ?jarretelles?|decollete|lascive?",
    r"sensual(?:es)?|seductor(?:a|as|es)?|provocativ(?:a|o|as|os)|ropa interior|lenceria|bragas|tanga|"
    r"sosten|sujetador|escote|calzones",
    r"verfuhrerisch(?:e|en|er)?|aufreizend(?:e|en|er)?|unterwasche|dessous|reizwasche|hoschen|slip|bh|"
    r"sinnlich(?:e|en|er)?|freizugig(?:e|en|er)?",
    r"sensuale|seducente|provocante|biancheria intima|intimo|mutandine|perizoma|reggiseno|scollatura",
    r"sensual|provocante|sedutora|calcinha|roupa intima|sutia|fio dental|decote|gostosa|safadinha",
)

# Who is a minor: child nouns, age expressions under 18, school markers, in six languages.
_UNDER_18 = r"(?:[1-9]|1[0-7]|0[1-9])"
_WRITTEN = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|"
    r"un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|"
    r"dix ?sept|"
    r"uno|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce|quince|"
    r"dieciseis|diecisiete|"
    r"ein|eins|zwei|drei|vier|funf|sechs|sieben|acht|neun|zehn|elf|zwolf|dreizehn|vierzehn|funfzehn|"
    r"sechzehn|siebzehn|"
    r"due|tre|quattro|sei|sette|otto|nove|dieci|undici|dodici|tredici|quattordici|quindici|sedici|"
    r"diciassette|"
    r"um|uma|duas|quatro|oito|dez|onze|doze|treze|catorze|quatorze|quinze|dezesseis|dezasseis|"
    r"dezessete|dezassete)"
)
_YEARS = (
    r"(?:years?|yrs?|yr|yo|y o|yeaers|year old|years old|yrs old|yr old|ans|an|anos|ano|anni|anno|"
    r"jahre|jahren|jahrig(?:e|er|en|es)?|j)"
)
MINOR: tuple[str, ...] = (
    rf"{_UNDER_18} ?{_YEARS}(?: ?old)?",
    rf"{_UNDER_18}(?:yo|yr|yrs|y|j|jahrige?|ans|anos|anni)",
    rf"{_WRITTEN} {_YEARS}(?: ?old)?",
    rf"{_WRITTEN} ?(?:year|years) ?old",
    rf"(?:aged?|age of|agee?e? de|edad de|de|im alter von|di|com) {_UNDER_18}(?! ?(?:mm|cm|m|k|kg|px|%))",
    rf"(?:under|below|less than) (?:the age of )?(?:1[0-8]|{_WRITTEN})",
    rf"(?:girl|boy|child|kid|daughter|son) (?:of )?{_UNDER_18}(?! ?(?:mm|cm|kg|px|%))",
    r"(?:not yet|under|below) (?:18|eighteen|legal age|the age of consent|age)|before puberty|"
    rf"{_UNDER_18} ?y ?[o0]|{_UNDER_18}(?:st|nd|rd|th) birthday|"
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
    r"fourteenth|fifteenth|sixteenth|seventeenth) birthday|"
    rf"looks? (?:like |about |around |only )?(?:she is |he is |she s |he s )?(?:{_UNDER_18}|{_WRITTEN})"
    r"(?! ?(?:mm|cm|kg|%|feet|ft|m))|looks? (?:underage|like a (?:child|kid|minor|teen)|too young)|"
    r"voice (?:hasn t|has not|hadn t|had not) (?:yet )?broken|(?:hasn t|has not) hit puberty|"
    r"before (?:his|her|their) voice broke|"
    rf"(?:aged?|ages|aging|de ?aged|regressed|shrunk|turned)(?: \w+){{0,2}} (?:to |into )?(?:an? )?"
    rf"(?:{_UNDER_18}|{_WRITTEN})(?! ?(?:mm|cm|kg|%))|age regress\w*|(?:younger|child|kid|little) version of|"
    r"as a (?:child|kid|little girl|little boy|toddler|preteen)|"
    r"grundschul\w*|schulkind\w*|volksschul\w*|nina de primaria|bambina delle elementari|"
    r"aluna do (?:fundamental|primario)|ecoliere de primaire|"
    r"(?:pre ?)?pubescent|pubert(?:y|al)|underaged|child bride|child brides|"
    r"(?:teen|teens|teenage|teenaged|teenager|teenagers|teeny|preteen|preteens|pre teen|tween|tweens|"
    r"adolescent|adolescents|adolescente|adolescentes|ados?|juvenile|underage|under age|minors?|"
    r"minderjahrig(?:e|er|en)?|minorenne|minorenni|menor(?:es)?(?: de edad| de idade)?|mineur(?:e|es|s)?)",
    r"(?:child|children|childs|kid|kids|kiddo|kiddie|kiddies|toddler|toddlers|infant|infants|baby|babies|"
    r"newborn|youngster|youngsters|schoolgirl|schoolgirls|schoolboy|schoolboys|school ?girl|school ?boy|"
    r"pupil|pupils|student girl|grade ?schooler|kindergartener|kindergartner|preschooler|"
    r"little (?:girl|girls|boy|boys|one|ones|sister|brother)|young (?:girl|girls|boy|boys|child|"
    r"children|kid|kids|teen|teens|daughter|son|lolita)|small (?:girl|girls|boy|boys|child)|"
    r"(?:girl|boy)s? (?:child|children)|(?:very|too|so|extremely|really) young|barely (?:legal|eighteen|18)|"
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|1st|2nd|3rd|[4-8]th) grader?s?|"
    r"(?:elementary|primary|middle|junior high) school(?:er|ers)?|school uniform|loli|lolis|lolicon|"
    r"high ?school(?:er|ers)|high school (?:girls?|boys?|students?|freshman|sophomore)|freshman girl|"
    r"quinceaner[ao]s?|"
    r"shota|shotas|shotacon|jailbait|cub|daughter|stepdaughter|niece|granddaughter)",
    # French
    r"(?:enfant|enfants|gamin|gamine|gamins|gamines|fillette|fillettes|petite fille|petites filles|"
    r"petit garcon|petits garcons|bebe|bebes|ecolier|ecoliere|ecolieres|collegien|collegienne|"
    r"collegiennes|lyceenne|lyceennes|jeune fille|jeunes filles|pre ?ado|preadolescente?)",
    # Spanish
    r"(?:nino|nina|ninos|ninas|nena|nenas|nene|nenes|criatura|chiquilla|chiquillas|colegiala|colegialas|"
    r"bebe|bebes|jovencita|jovencitas|nina pequena|chica joven|chica de colegio|muchachita)",
    # German
    r"(?:kind|kinder|kindes|madchen|maedchen|kleines madchen|junges madchen|schulmadchen|schulerin|"
    r"schulerinnen|schuler|kleinkind|kleinkinder|junge|jungen|jugendliche|jugendlicher|jugendlichen|"
    r"teenie|teenies|baby)",
    # Italian
    r"(?:(?:undic|dodic|tredic|quattordic|quindic|sedic|diciassett|dieci|nove|otto|sett|sei)enn(?:e|i)|"
    r"bambin(?:o|a|i|e)|bimb(?:o|a|i|e)|ragazzin(?:o|a|i|e)|fanciull(?:o|a|i|e)|scolaretta|"
    r"scolarette|studentessa delle medie|neonat(?:o|a|i|e)|adolescenti)",
    # Portuguese
    r"(?:crianca|criancas|menina|meninas|menino|meninos|garotinha|garotinho|novinha|novinhas|colegial|"
    r"colegiais|bebe|nenem|mocinha|pirralha)",
)

# A minor with an adult in a romantic or intimate setting is `minors` too.
ADULT_PARTNER: tuple[str, ...] = (
    r"(?:adult|older|grown|grown up|middle aged|old|mature) (?:man|men|woman|women|male|female|guy|lover|"
    r"boyfriend|girlfriend|partner)|sugar daddy|(?:homme|femme) (?:adulte|mur|mure|age|agee)|"
    r"(?:hombre|mujer) (?:adulto|adulta|mayor)|(?:erwachsene[rn]?|alter|alterer) (?:mann|frau)|"
    r"(?:uomo|donna) (?:adulto|adulta|maturo|matura)|(?:homem|mulher) (?:adulto|adulta|mais velho)",
)
INTIMATE: tuple[str, ...] = (
    r"romantic|romance|intimate|intimacy|lovers?|in love|bedroom|in bed|kiss(?:es|ing)?|date|dating|"
    r"couple|boyfriend|girlfriend|married|marriage|wedding|bride|honeymoon|cuddl\w*|caress\w*|"
    r"romantique|romantico|romantisch|romantica|intime|intimo|amantes|amants|liebhaber|chambre|"
    r"dormitorio|schlafzimmer|camera da letto|quarto",
)

# Always minors, whatever else the prompt says.
MINORS_ALWAYS: tuple[str, ...] = (
    r"loli ?(?:con|hentai|porn|nude|naked|sex)|shota ?(?:con|hentai|porn|nude|naked|sex)",
    r"lolicon|shotacon|jailbait|cp porn|child ?porn\w*|kiddie ?porn|kiddy ?porn|kinderporno\w*|"
    r"pornographie (?:enfantine|infantile)|pornografia infantil|pedopornografi\w*|csam|csem|"
    r"p[ae]?edo(?:phile|philes|philia|philic|bear|bait)?|paedo|pedo|pedofil\w*|pedophil\w*|"
    r"paedophil\w*|padophil\w*|child (?:sexual|sex|erotica|abuse material|molest\w*)|"
    r"barely legal|underage (?:sex|porn|nude|naked|girls? nude)|preteen (?:nude|sex|model)",
)

SEXUAL_VIOLENCE: tuple[str, ...] = (
    r"rap(?:e|es|ed|ing|ist|ists)|r a p e|gang ?rap(?:e|ed|ing)|date ?rape",
    r"forc(?:e|es|ed|ing) (?:himself|herself|themselves) (?:on|upon|onto)|"
    r"without (?:her |his |their |any )?consent|non consenting|no consent|(?:she|he|they) said no|"
    r"(?:did not|didn t|doesn t|does not) (?:consent|stop when)|"
    r"tak(?:e|es|ing|en|ook) (?:her|him|them) by force|"
    r"(?:woman|women|girl|girls|man|she|he|her|him|wife) (?:being |was |is |getting |gets )?violated|"
    r"violated (?:woman|women|girl|while|in (?:her|his) sleep)",
    r"sexual(?:ly)? (?:assault|assaults|assaulted|assaulting|abuse|abused|abusing|violence|coercion|"
    r"harassment|slavery|exploitation)",
    r"molest(?:s|ed|ing|ation|er|ers)?|grop(?:e|ed|ing)|forcibly (?:undress\w*|strip\w*|kiss\w*)",
    r"non ?consensual|non ?con|without (?:her|his|their) consent|against (?:her|his|their) will|"
    r"forced (?:sex|intercourse|to strip|to undress|nudity|to have sex|oral|into sex|prostitution)|"
    r"sex (?:slave|slaves|slavery|trafficking)|drugged and (?:undressed|raped|assaulted|stripped)|"
    r"(?:unconscious|passed out|sleeping|drugged) (?:woman|girl|man) (?:being )?(?:undressed|stripped|"
    r"fondled|groped|touched)",
    # French, Spanish, German, Italian, Portuguese
    r"viol|viols|violee|violees|violer|viole|violant|agression sexuelle|abus sexuels?|violence sexuelle",
    r"violacion|violaciones|violad(?:a|o|as|os)|violar|violando|abuso sexual|agresion sexual|"
    r"violencia sexual",
    r"vergewaltig(?:ung|ungen|t|te|en|er)|sexuelle(?:r|n)? (?:missbrauch|ubergriff|gewalt|notigung)|"
    r"missbraucht(?:e|en)?",
    r"stupr(?:o|i|ata|ato|are)|violentat(?:a|o|e|i)|violenza sessuale|abuso sessuale|abusi sessuali",
    r"estupr(?:o|ada|ado|ar)|abuso sexual|violencia sexual|violentada",
)

# A victim who cannot consent, with an assault or anything sexual: `sexual_violence`.
INCAPACITATED: tuple[str, ...] = (
    r"drugged|unconscious|passed out|blacked out|knocked out|asleep|sleeping|intoxicated|comatose|"
    r"roofied|helpless|restrained|tied (?:up|down)|bound and gagged|handcuffed to (?:a|the) bed|"
    r"(?:held|pinned|forced|pushed) (?:down|to the (?:floor|ground|bed))|blackout drunk|black out drunk|"
    r"drunk|wasted|sedated|semi conscious|barely conscious|incapacitated|struggling|"
    r"begs? (?:\w+ )?to stop|begging (?:\w+ )?to stop|pleads? (?:\w+ )?to stop|pleading (?:\w+ )?to stop|"
    r"even though (?:she|he|they) (?:begs?|says no|said no|refuses?|resists?|cries)|screaming no|"
    r"inconsciente|endormie?|droguee?|dormida|drogada|bewusstlos(?:e|en)?|schlafend(?:e|en)?|betaubt(?:e|en)?|"
    r"svenuta|addormentata|drogata|desacordada|dopada",
)
ASSAULT: tuple[str, ...] = (
    r"assault(?:s|ed|ing)?|taken advantage of|tak(?:e|es|ing) advantage of|abus(?:e|ed|ing)|"
    r"us(?:ed|ing) (?:her|him)(?: sexually)?|fondl(?:e|ed|ing)|"
    r"touch(?:ed|es|ing) (?:her|him)(?: inappropriately| sexually| all over)?|"
    r"(?:clothes|clothing|dress|shirt|blouse) (?:torn|ripped) (?:off|open)|(?:tearing|ripping) (?:her|his) "
    r"(?:clothes|dress|shirt|blouse) off|"
    r"agress(?:ee|ion)|agredida|abusada|missbraucht(?:e|en)?|abusata|aggredita|explicit|"
    r"(?:being |is |gets )?taken by|(?:have|has|having) (?:their|his) way with",
)

VIOLENCE: tuple[str, ...] = (
    r"gore|gory|goriest|guro|ryona|splatter|splattered|blood ?bath|bloodbath|blood and gore|"
    r"(?:pools?|puddles?|rivers?) of blood|blood (?:splatter|spatter|everywhere|gushing|spurting|"
    r"soaked|drenched)|drenched in blood|soaked in blood|covered in (?:blood and )?(?:guts|gore|entrails)",
    r"tortur(?:e|es|ed|ing|er|ers|ous)|tortue?red",
    r"mutilat(?:e|es|ed|ing|ion|ions)|dismember(?:s|ed|ing|ment)|disembowel(?:s|ed|ing|led|ling|ment)?|"
    r"eviscerat(?:e|es|ed|ing|ion)|decapitat(?:e|es|ed|ing|ion)|behead(?:s|ed|ing)?|"
    r"flay(?:s|ed|ing)|skinned alive|burn(?:ed|t|ing) alive|buried alive|boiled alive|"
    r"gutt(?:ed|ing) (?:like|a|the) (?:person|man|woman|body|human)|disemboweled|"
    r"impal(?:e|ed|ing) (?:on|through)",
    r"severed (?:heads?|limbs?|arms?|legs?|hands?|fingers?|body parts|torso)|"
    r"(?:heads?|limbs?) (?:cut|ripped|torn|chopped) off|ripped (?:apart|to pieces|in half)|"
    r"torn (?:apart|limb from limb|to pieces)|limb from limb|chopped (?:up )?(?:body|bodies|corpse)",
    r"(?:spilled|spilling|exposed|hanging) (?:guts|entrails|intestines|organs|brains?)|"
    r"(?:guts|entrails|intestines|brains?) (?:spilling|spilled|hanging out|splattered|blown out|everywhere)|"
    r"(?:body|chest|stomach|belly|torso|abdomen)(?: \w+){0,2} (?:opened|cut|sliced|split|ripped|torn|"
    r"carved) (?:up|open)|organs (?:show|showing|exposed|visible|spilling|hanging)|"
    r"(?:face|skin|scalp)(?: \w+){0,2} (?:peeled|ripped|torn|flayed|cut|sliced) off|raw flesh|"
    r"(?:bloody|severed|human) (?:pieces|chunks|body parts|remains)|taken apart piece by piece|"
    r"(?:cut|chopped|hacked|torn|ripped|blown) (?:into|to) (?:pieces|bits|chunks)|"
    r"insides(?: \w+){0,3} outside|"
    r"teeth (?:pulled|ripped|knocked|torn)(?: out)?|(?:finger)?nails (?:ripped|pulled|torn) (?:out|off)|"
    r"blood (?:pouring|gushing|spurting|streaming|spraying)|"
    r"decapit\w*|dismember\w*|desmembr\w*|demembr\w*|smembr\w*|descuartiz\w*|esquartej\w*|"
    r"zerstuckel\w*|verstummel\w*|enthaupt\w*|"
    r"(?:testa|teste) mozzat[ae]|cabeza cortada|cabeca cortada|tete coupee|abgetrennte[rn]? kopf|"
    r"sangue che schizza|sangre (?:salpicando|a borbotones)|sangue jorrando|sang qui gicle|blut spritzt|"
    r"(?:guy|man|woman|person|body|victim|him|her|them|people|someone) inside out|"
    r"everything (?:that was )?inside (?:him|her|them)(?: \w+){0,4} (?:floor|ground|out)|"
    r"colombian neck ?tie|glasgow smile|chelsea grin|(?:into|to) (?:ground meat|mince ?meat|a bloody pulp|"
    r"pulp|paste)|beaten to a pulp|"
    r"insides (?:on the )?outside|(?:heads?|limbs?) no longer attached|red mist|"
    r"body parts (?:on|everywhere|scattered|strewn|all over)|(?:pooling|pooled) blood|blood pooling|"
    r"entrails|brain matter|exploding (?:heads?|skulls?|bodies)|head explod\w*|"
    r"(?:gouged|gouging) (?:out )?eyes?|eye gouging|slit (?:throat|throats)|throats? (?:slit|slashed|cut)|"
    r"slash(?:ed|ing) (?:her|his|their) throats?",
    r"(?:mangled|mutilated|rotting|bloody|dismembered|charred|maggot ?infested) (?:corpses?|bodies|body|"
    r"remains|carcass)|corpses? (?:being )?(?:mutilated|dismembered|eaten)",
    r"(?:brutal|bloody|gruesome|savage|graphic) (?:murders?|killings?|massacres?|executions?|deaths?|"
    r"violence|wounds?|injur(?:y|ies)|beating|slaughter|torture)",
    r"(?:beaten|stabbed|hacked|bludgeoned|tortured|kicked) to death|snuff (?:film|video|movie)|"
    r"cannibal(?:s|ism|istic)?|eating (?:human )?(?:flesh|brains|organs) of|eating human (?:flesh|organs)|"
    r"(?:school|mass|church|mosque|synagogue) shooting|suicide (?:bomber|bombers|bombing|attack|vest)|"
    r"terrorist beheading|execution video|public execution with blood|lynching|lynched",
    # French
    r"gore|torture(?:s|r|e|es)?|tortur(?:e|ee|es|ees|ant)|decapit(?:e|ee|es|ation)|demembr(?:e|ee|es|ement)|"
    r"mutil(?:e|ee|es|ees|ation)|evisc(?:ere|eree|eration)|egorg(?:e|ee|es|er|ement)|bain de sang|"
    r"tripes a l air|viscer(?:es|al) (?:a l air|sortant)|cadavres? (?:mutile|demembre)s?",
    # Spanish
    r"tortura(?:d|do|da|dos|das|ndo|r)?|decapitad(?:o|a|os|as)|decapitacion|descuartizad(?:o|a|os|as)|"
    r"mutilad(?:o|a|os|as)|mutilacion|destripad(?:o|a|os|as)|degollad(?:o|a|os|as)|bano de sangre|"
    r"tripas (?:fuera|colgando)|desmembrad(?:o|a|os|as)|sangre y visceras",
    # German
    r"folter(?:n|t|te|ung|kammer)?|gefoltert(?:e|en|er)?|enthauptet(?:e|en|er)?|enthauptung|"
    r"zerstuckel(?:t|te|ten|ung)|verstummel(?:t|te|ten|ung)|ausgeweidet(?:e|en)?|blutbad|"
    r"eingeweide|abgetrennte(?:r|n)? (?:kopf|kopfe|gliedmassen)|brutal(?:e|er|es)? (?:mord|morde|gewalt)",
    # Italian
    r"tortur(?:a|ato|ata|ati|ate|are)|decapitat(?:o|a|i|e)|decapitazione|smembrat(?:o|a|i|e)|"
    r"mutilat(?:o|a|i|e)|mutilazione|sventrat(?:o|a|i|e)|sgozzat(?:o|a|i|e)|bagno di sangue|"
    r"budella|viscere",
    # Portuguese
    r"tortura(?:do|da|dos|das|ndo|r)?|decapitad(?:o|a|os|as)|decapitacao|esquartejad(?:o|a|os|as)|"
    r"mutilad(?:o|a|os|as)|mutilacao|estripad(?:o|a|os|as)|degolad(?:o|a|os|as)|banho de sangue|"
    r"visceras (?:expostas|para fora)|tripas",
)

_GLORIFY = (
    r"(?:glorif\w*|celebrat\w*|prais\w*|hail(?:s|ed|ing)|exalt\w*|glorifica\w*|celebra\w*|esalta\w*|"
    r"exalta\w*|verherrlich\w*|feier\w*|gloire|glorious|heroic|heroi\w*|triumphant|as heroes|as a hero|"
    r"as martyrs?|as a saint|as saints|as icons?|as legends?|tributes? to|shrine to)"
)
_ATROCITY = (
    r"(?:holocaust|holocauste|olocausto|holocausto|shoah|genocid\w*|ethnic cleansing|extermination|"
    r"exterminio|sterminio|exterminacao|vernichtung|ausrottung|volkermord|massacres?|massaker|masacres?|"
    r"massacri|massacro|terror(?:ist)? attacks?|islamic state|estado islamico|etat islamique|"
    r"islamischer staat|stato islamico|isis|isil|daesh|al qaeda|kkk|ku klux klan|"
    r"attentats?|mass shootings?|(?:mass |school |mosque |church )?"
    r"shooters?|school shootings?|hijackers|9 11|suicide bomb\w*|lynchings?|pogroms?|jihadists?|"
    r"terrorists?|breivik|tarrant|dylann roof|mcveigh|bin laden|srebrenica|bataclan|christchurch mosque)"
)

HATE: tuple[str, ...] = (
    r"(?:exterminat\w*|extermin\w*|wiping out|wipe out|gassing|genocide of|kill(?:ing)? all|"
    r"rounding up) (?:the |all )?(?:jews|jewish people|muslims|arabs|blacks|black people|gays|immigrants|"
    r"mexicans|roma|gypsies|armenians|tutsis|kurds|christians|asians|whites|refugees|juifs|judios|juden|"
    r"ebrei|judeus)|"
    r"(?:white )?hoods? and robes?(?: \w+){0,4} burning cross|burning cross(?: \w+){0,6} (?:proud|recruit\w*|"
    r"glor\w*|rally|poster|heroic)|(?:proud|recruit\w*|glor\w*|heroic)(?: \w+){0,6} burning cross|"
    r"recruitment posters? for (?:the )?(?:kkk|klan|isis|nazis?|ss|al qaeda|white supremacists?)",
    rf"{_GLORIFY}(?: \w+){{0,5}} {_ATROCITY}|{_ATROCITY}(?: \w+){{0,5}} {_GLORIFY}",
    r"(?:saint|st) (?:breivik|tarrant|dylann roof|roof|mcveigh|elliot rodger|bin laden)",
    r"(?:nazi|nazis|neo ?nazi|neonazi|third reich|3rd reich|hitler|ss|waffen ss|kkk|ku klux klan|klan|"
    r"isis|isil|daesh|al qaeda|taliban|white supremacist|white supremacy|white nationalist|aryan|fascist)"
    r" (?:propaganda|poster|posters|recruitment|recruiting|glory|glorified|glorifying|glorification|"
    r"pride|rally|rallies|march|parade|celebration|celebrating|victory|heroes|hero|heroic|triumph\w*|"
    r"salute|salutes|saluting|worship|tribute|flag waving|banner|manifesto|uprising|supremacy|"
    r"master race|superiority)",
    r"(?:glorif\w*|celebrat\w*|prais\w*|honou?r\w*|heroic|triumphant|proud|propaganda (?:for|of)|"
    r"recruit\w* for|supporting|worshipp?ing|idoli[sz]\w*|long live|hail) (?:the |a |an )?"
    r"(?:holocaust|shoah|genocide|genocides|ethnic cleansing|nazis?|nazism|hitler|third reich|ss|kkk|"
    r"ku klux klan|klan|isis|white supremacy|white supremacists?|fascism|lynch\w*|slavery|apartheid|"
    r"terrorists?|terrorism|9 11 attacks?|the 9 11 attacks|school shooters?|mass shooters?)",
    r"(?:holocaust|shoah|genocides?|genocidal \w+|ethnic cleansing|ethnically cleansed \w+|nazis?|"
    r"nazism|hitler|third reich|kkk|ku klux klan|klan(?:smen)?|lynchings?|massacres?|mass graves?|"
    r"slavery|apartheid|white supremacy) (?:celebrated|glorified|glorious|praised|honou?red|"
    r"triumphant|victory posters?|propaganda|as heroes|as heroic)",
    r"(?:glorious|heroic|triumphant|proud|celebrat\w*|glorif\w*) (?:kkk|ku klux klan|klan|nazis?|ss|"
    r"hitler|third reich|genocides?|ethnic cleansing|white supremacists?|fascists?|lynch(?:ings?| mobs?))",
    r"(?:racist|antisemitic|anti semitic|islamophobic|homophobic|transphobic|xenophobic|bigoted|"
    r"white supremacist|nazi|neo nazi) (?:caricatures?|cartoons?|propaganda|posters?|memes?|imagery|"
    r"illustrations?|drawings?|depictions?|stereotypes?|slogans?|graffiti)|"
    r"happy merchant|remove kebab|(?:jewish|jew) (?:banker|conspiracy)? ?(?:caricature|with a hooked nose)|"
    r"hook(?:ed)? nosed? (?:jews?|caricature)|"
    r"(?:black|jewish|muslim|arab|asian|mexican|gay|trans|roma|african|indian|chinese) (?:people|men|women|"
    r"person|persons|folks) (?:as|are|depicted as|portrayed as|drawn as|shown as) (?:rats|vermin|"
    r"cockroaches|insects|parasites|animals|apes|monkeys|subhumans?|pigs|dogs|lice|disease)|"
    r"hakenkreuz\w*|ruhm (?:dem|der|den) (?:dritten reich|ss|fuhrer|nazis)|(?:dritte|dritten|drittes) "
    r"reich (?:propaganda|ruhm|verherrlich\w*)",
    r"(?:heil|sieg heil|heil hitler|hail hitler|hitler (?:was right|did nothing wrong|is my hero|salute)|"
    r"white (?:power|pride|genocide|supremacy|supremacist|supremacists|nationalism|nationalist|"
    r"race superiority|master race)|master race|aryan (?:race|supremacy|brotherhood|nation|master race)|"
    r"race war|racial holy war|rahowa|1488|14 88|14 words|fourteen words|day of the rope|"
    r"gas the (?:jews|\w+)|death to (?:all )?(?:jews|muslims|christians|gays|blacks|arabs|immigrants|"
    r"mexicans|whites|asians|trans people|the jews)|kill all (?:jews|muslims|gays|blacks|arabs|"
    r"immigrants|mexicans|whites|asians)|holocaust (?:denial|was fake|never happened|hoax)|"
    r"(?:jews|muslims|blacks|arabs|immigrants|mexicans|gays|roma|gypsies|refugees|africans|asians) "
    r"(?:as|are|depicted as|portrayed as|drawn as|shown as) (?:rats|vermin|cockroaches|insects|parasites|"
    r"animals|apes|monkeys|subhumans?|untermenschen|pigs|dogs|lice|disease)|"
    r"subhuman (?:jews|blacks|muslims|arabs|immigrants|mexicans|gays|race)|untermensch(?:en)?|"
    r"ethnic cleansing|final solution|swastika (?:flag|flags|banner|armband|rally|tattoo on)|"
    r"nazi (?:swastika|flag|salute)|burning cross rally|cross burning|kkk|ku klux klan (?:rally|hoods)|"
    r"lynch mob|lynching (?:celebration|party))",
    # dehumanising slurs (kept short: the ones used as image prompts)
    r"nigg(?:er|ers|a|as|ah|uh)|n1gg\w*|kikes?|spics?|chinks?|gooks?|wetbacks?|ragheads?|towelheads?|"
    r"sand ?niggers?|faggots?|fags|dykes|trann(?:y|ies)|retards|coons|porch monkeys?|jungle bunn(?:y|ies)|"
    r"beaners?|zipperheads?|golliwog|sambo",
    # French, Spanish, German, Italian, Portuguese
    r"propagande (?:nazie|nazi|fasciste|du (?:kkk|troisieme reich))|gloire (?:au|a) (?:troisieme reich|"
    r"hitler|nazisme|genocide)|(?:glorifi\w*|celebr\w*) (?:le |la |l )?(?:genocide|holocauste|shoah|"
    r"nazisme|hitler)|bougnoules?|youpins?|negres?|sale (?:arabe|juif|noir|negre)|race superieure|"
    r"suprematie blanche",
    r"propaganda (?:nazi|nazista|fascista|del (?:kkk|tercer reich))|supremacia blanca|raza superior|"
    r"(?:glorific\w*|celebr\w*|exalt\w*) (?:el |la |los )?(?:genocidio|holocausto|nazismo|hitler)|"
    r"sudacas?|sudaca",
    r"nazi ?propaganda|propaganda (?:der|fur die) (?:nazis|ss)|verherrlich\w* (?:des |der |von )?"
    r"(?:holocaust|nazis|ns|hitler|volkermord|genozid)|auslander raus|juden raus|judenhass|herrenrasse|"
    r"rassenkrieg|arische (?:rasse|herrenrasse)|untermenschen|heil hitler|sieg heil",
    r"propaganda (?:nazista|fascista)|(?:glorific\w*|celebr\w*|esalt\w*) (?:il |l |la )?(?:genocidio|"
    r"olocausto|nazismo|hitler|fascismo)|razza superiore|supremazia bianca",
    r"(?:glorific\w*|celebr\w*|exalt\w*) (?:o |a )?(?:genocidio|holocausto|nazismo|hitler)|"
    r"supremacia branca|raca superior",
)

SELF_HARM: tuple[str, ...] = (
    r"self ?harm(?:s|ed|ing)?|self ?injur(?:y|ies|ing|ious)|self ?mutilat(?:e|es|ed|ing|ion)|"
    r"self ?inflicted (?:cuts|wounds|injur\w*|scars)|sh scars|cutting scars|self ?destruct\w* "
    r"(?:cuts|wounds)",
    r"suicid(?:e|es|al|ally)|kill(?:s|ed|ing)? (?:myself|herself|himself|themselves|yourself|oneself)|"
    r"kms|kys|k y s|unaliv\w*|end(?:s|ed|ing)? it all|rope (?:around|round) (?:\w+ )?neck|"
    r"sewer ?slide|(?:go )?rope (?:yourself|myself|herself|himself)|"
    r"(?:hanging|hanged|hangs|dangling) (?:from|in) (?:a |the )?noose|"
    r"carv\w*(?: \w+){0,3} (?:into |on )?(?:his|her|my|their|your) (?:arms?|wrists?|thighs?|skin|forearms?)|"
    r"(?:carved|cut|sliced|scratched) (?:into|on) (?:his|her|my|their|your) (?:arms?|wrists?|thighs?|skin)|"
    r"neck rope|barcode (?:arms|wrists|thighs)|ctb|catch(?:ing)? the bus (?:tonight|forever|for good)|"
    r"rope and (?:a )?(?:stool|chair)|(?:fresh|deep|bleeding) cuts? on (?:my|her|his|their) "
    r"(?:arms?|wrists?|thighs?|forearms?)|"
    r"(?:razor|razors|razor blade|razor blades|blade|blades|box cutter|scalpel)(?: \w+){0,5} "
    r"(?:wrists?|forearms?|my arms|her arms|his arms|thighs)|(?:wrists?|forearms?|my arms|her arms|"
    r"his arms|thighs)(?: \w+){0,5} (?:razor|razors|razor blade|razor blades|box cutter)|"
    r"end(?:s|ed|ing)? (?:my|her|his|their|your|one s) (?:own )?life|"
    r"take (?:my|her|his|their|your) own life|taking (?:my|her|his|their|your) own life|"
    r"want(?:s|ing)? to die|wish(?:es|ing)? (?:i|she|he|they) (?:was|were) dead|"
    r"hang(?:s|ed|ing)? (?:myself|herself|himself|themselves|yourself)|noose (?:around|on) "
    r"(?:her|his|my|their|your) neck|(?:a |the )?noose (?:hanging )?(?:for|ready)|"
    r"(?:slit|slitting|slits|slashing|slashed|cut|cutting|cuts) (?:my|her|his|their|your)? ?wrists?|"
    r"(?:cut|cutting|cuts) (?:myself|herself|himself|themselves|yourself)|"
    r"(?:razor|razors|razor blade|blade|blades|knife) (?:on|to|against|across) (?:my|her|his|their|your)? "
    r"?(?:wrists?|arms?|thighs?|skin)|bleeding wrists|wrists? (?:slit|slashed|cut open|bleeding)|"
    r"overdos(?:e|es|ed|ing) on (?:pills|drugs|sleeping pills|medication)|swallow(?:ing|ed)? (?:a bottle "
    r"of|handfuls? of) pills|jump(?:s|ed|ing)? (?:off|from) (?:a|the) (?:bridge|building|roof|cliff|ledge) "
    r"to (?:die|end|kill)|pro ?ana|pro ?mia|thinspo(?:ration)?|starv(?:e|es|ed|ing) (?:myself|herself|"
    r"himself) to death",
    # French
    r"suicid(?:e|es|er|aire|aires)|se suicider|se suicide|automutil(?:ation|e|er)|se scarifi\w*|"
    r"scarification(?:s)? (?:aux|sur les) (?:bras|poignets)|(?:se )?(?:taill|coup|tranch|taillad|ouvr)\w* "
    r"les (?:veines|poignets)|se pendre|mettre fin a ses jours|envie de mourir",
    # Spanish
    r"suicid(?:io|arse|andose|a|ado|ada)|autolesi(?:on|ones|onarse)|cortarse (?:las venas|los brazos)|"
    r"cort\w* (?:las venas|las munecas)|ahorcarse|ahorcandose|quitarse la vida|ganas de morir",
    # German
    r"selbstmord\w*|suizid\w*|selbstverletz\w*|pulsadern?(?: \w+)? auf\w*|"
    r"(?:schneid|aufschneid|aufgeschnitten)\w*(?: \w+){0,2} pulsader\w*|ritzen|ritzt sich|"
    r"sich (?:ritzen|umbringen|toten|erhangen|"
    r"die pulsadern aufschneiden)|pulsadern aufgeschnitten|erhangt sich",
    # Italian
    r"suicid(?:io|arsi|a|ata|ato)|autolesion(?:ismo|ista|i)|(?:si )?tagli\w* (?:le vene|i polsi)|impiccarsi|"
    r"togliersi la vita",
    # Portuguese
    r"suicid(?:io|ar|ar se|ando|a|ada)|automutila(?:cao|r|ndo)|auto ?lesao|cort\w* (?:os pulsos|as veias)|"
    r"cortando os pulsos|enforcar ?se|tirar a propria vida",
)

# The order decides which category a prompt matching several gets: the most severe first.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sexual_violence", SEXUAL_VIOLENCE),
    ("self_harm", SELF_HARM),
    ("violence", VIOLENCE),
    ("hate", HATE),
    ("sexual", SEXUAL),
)
