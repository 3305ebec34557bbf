package simulate

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Name material for clients. Surnames are in the masculine form and all end
// in -ов, -ев or -ин, so the feminine form is the same word plus "а".
var (
	maleFirstNames = []string{
		"Александр", "Алексей", "Андрей", "Антон", "Артём", "Борис", "Вадим",
		"Виктор", "Владимир", "Дмитрий", "Евгений", "Игорь", "Иван", "Кирилл",
		"Максим", "Михаил", "Никита", "Николай", "Олег", "Павел", "Роман",
		"Сергей", "Станислав", "Юрий",
	}
	femaleFirstNames = []string{
		"Алина", "Анастасия", "Анна", "Валентина", "Вера", "Дарья", "Екатерина",
		"Елена", "Ирина", "Ксения", "Лариса", "Людмила", "Марина", "Мария",
		"Наталья", "Ольга", "Полина", "Светлана", "Татьяна", "Юлия",
	}
	surnames = []string{
		"Андреев", "Васильев", "Волков", "Егоров", "Захаров", "Иванов",
		"Козлов", "Кузнецов", "Лебедев", "Макаров", "Михайлов", "Морозов",
		"Никитин", "Николаев", "Новиков", "Орлов", "Павлов", "Петров", "Попов",
		"Семёнов", "Смирнов", "Соколов", "Степанов", "Фёдоров", "Ильин",
	}
	// Some clients are companies, named the way a CRM shows them.
	companyForms = []string{"ООО", "ИП", "АО"}
	companyNames = []string{
		"Вектор", "Гранит", "Альянс", "Меридиан", "Северный ветер", "Стройресурс",
		"ТехноПарк", "Горизонт", "Медведь", "Восход", "Логистик Плюс", "Кедр",
	}
)

// companyShare is the share of clients that are companies rather than people.
const companyShare = 0.15

// randomName returns a Russian personal or company name.
func randomName(rng *rand.Rand) string {
	if rng.Float64() < companyShare {
		form := pick(rng, companyForms)
		if form == "ИП" { // a sole trader is named after the person
			return form + " " + pick(rng, surnames) + " " + string([]rune(pick(rng, maleFirstNames))[:1]) + "."
		}
		return form + " «" + pick(rng, companyNames) + "»"
	}
	if rng.IntN(2) == 0 {
		return pick(rng, maleFirstNames) + " " + pick(rng, surnames)
	}
	return pick(rng, femaleFirstNames) + " " + pick(rng, surnames) + "а"
}

// mobileCodes are Russian mobile operator codes (the three digits after +7).
var mobileCodes = []string{
	"901", "903", "905", "906", "909", "910", "912", "915", "916", "917",
	"919", "920", "921", "925", "926", "929", "950", "951", "952", "953",
	"960", "961", "962", "963", "964", "965", "967", "968", "977", "980",
	"981", "985", "987", "991", "993", "995", "996", "999",
}

// randomMobile returns a Russian mobile number in E.164 form, +79xxxxxxxxx.
func randomMobile(rng *rand.Rand) string {
	var b strings.Builder
	b.Grow(len("+79161234567"))
	b.WriteString("+7")
	b.WriteString(pick(rng, mobileCodes))
	subscriber := strconv.Itoa(rng.IntN(10_000_000))
	b.WriteString(strings.Repeat("0", 7-len(subscriber)))
	b.WriteString(subscriber)
	return b.String()
}

// pick returns a uniformly chosen element of a non-empty slice.
func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }
