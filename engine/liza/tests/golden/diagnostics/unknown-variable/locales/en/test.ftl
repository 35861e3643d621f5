hello = Hello { $customer_name } from { $company }.
